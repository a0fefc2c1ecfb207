"""Settings: layers, coercion, errors, and the README's table kept true."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.config import SETTINGS, load_settings, settings_table
from portal.errors import ConfigError

README = Path(__file__).resolve().parents[1] / "README.md"


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings({"instance": str(tmp_path)}, environ={})
    assert settings.base_url == "http://127.0.0.1:5000"
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path.resolve() / 'lodestar.db'}"
    assert settings.instance_path == tmp_path.resolve()


def test_layers_file_then_environment_then_overrides(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('base_url = "https://data.example.org/"\nhttp_timeout = 5\n')
    env = {"LODESTAR_INSTANCE": str(tmp_path)}
    assert load_settings(environ=env).base_url == "https://data.example.org"
    assert load_settings(environ=env).http_timeout == 5
    env["LODESTAR_BASE_URL"] = "https://env.example.org"
    env["LODESTAR_HTTP_TIMEOUT"] = "7.5"
    assert load_settings(environ=env).base_url == "https://env.example.org"
    assert load_settings(environ=env).http_timeout == 7.5
    assert load_settings({"base_url": "http://x.test"}, environ=env).base_url == "http://x.test"


@pytest.mark.parametrize("environ, message", [
    ({"LODESTAR_HTTP_TIMEOUT": "soon"}, "expected a number"),
    ({"LODESTAR_BASE_URL": "ftp://x"}, r"http\(s\) URL"),
])
def test_bad_values_are_config_errors(tmp_path: Path, environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({"instance": str(tmp_path)}, environ=environ)


def test_unknown_setting_in_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('colour = "blue"\n')
    with pytest.raises(ConfigError, match="colour"):
        load_settings({"instance": str(tmp_path)}, environ={})


def test_every_setting_has_help_and_an_env_name() -> None:
    for setting in SETTINGS:
        assert setting.help and setting.env == "LODESTAR_" + setting.name.upper()


def test_readme_documents_the_settings_table() -> None:
    assert settings_table() in README.read_text(encoding="utf-8")
