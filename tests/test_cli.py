"""The `lodestar` command: exit codes and located messages, run in-process on a fresh instance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portal.cli import main
from tests.conftest import TOILETS


@pytest.fixture(autouse=True)
def instance_env(cli_env: Path) -> Path:
    return cli_env


def test_validate_a_valid_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(TOILETS), "--schema", "public-toilets"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{TOILETS}: valid — ") and "INVALID" not in out


def test_validate_reports_located_errors_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "toilets.csv"
    lines = TOILETS.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace(",531767,", ",east-ish,")  # file row 3 (data row 2): X is an integer column
    bad.write_text("".join(lines), encoding="utf-8")
    assert "east-ish" in bad.read_text(encoding="utf-8")
    assert main(["validate", str(bad), "--schema", "public-toilets", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    [error] = [i for i in report["issues"] if i["severity"] == "error"]
    assert error["location"] == {"file": str(bad), "row": 3, "field": "X"}
    assert error["code"] == "table/type-error"


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["harvest"]) == 2
    assert main(["harvest", "nowhere"]) == 2
    assert "no source named 'nowhere'" in capsys.readouterr().err
    assert main(["freshness", "--now", "yesterday"]) == 2
    assert main(["sources", "add", "Not A Slug", "http://127.0.0.1:1/"]) == 2
    assert main(["sources", "add", "ftp-source", "ftp://127.0.0.1/catalog.ttl"]) == 2
    assert "must be an http(s) or file URL" in capsys.readouterr().err


def test_unreachable_source_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import free_port

    assert main(["sources", "add", "gone", f"http://127.0.0.1:{free_port()}/catalog.ttl"]) == 0
    assert main(["harvest", "gone"]) == 3
    assert "127.0.0.1" in capsys.readouterr().err


def test_sources_query_and_freshness(file_server: tuple[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import serve_lambeth

    assert main(["sources", "add", "lambeth", serve_lambeth(file_server)]) == 0
    assert main(["harvest", "--all"]) == 0
    assert main(["sources", "list"]) == 0
    assert "lambeth\tdcat" in capsys.readouterr().out
    assert main(["query", "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "--format", "tsv"]) == 0
    assert int(capsys.readouterr().out.split()[1].split("^^")[0].strip('"')) > 100
    assert main(["freshness", "--now", "2999-01-01T00:00:00Z", "--format", "json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    [what_if] = answer["datasets"]
    assert answer["recorded"] is False and what_if["status"] == "delinquent"
    assert what_if["evidence"]["expected_frequency"]["key"] == "MONTHLY"
    assert main(["freshness", "--format", "json"]) == 0  # a what-if left no trace: still fresh
    [now] = json.loads(capsys.readouterr().out)["datasets"]
    assert (now["status"], now["previous"], now["changed"]) == ("fresh", "fresh", False)


def test_harvest_of_an_invalid_table_exits_1_with_located_issues(file_server: tuple[str, Path],
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import LAMBETH_CATALOGUE

    url, root = file_server
    (root / "catalog.ttl").write_text(LAMBETH_CATALOGUE.replace("{title}", "Toilets"), encoding="utf-8")
    lines = TOILETS.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[5] = lines[5].replace(",", ",,", 1)  # one cell too many in file row 6
    (root / "toilets.csv").write_text("".join(lines), encoding="utf-8")
    assert main(["sources", "add", "lambeth", f"{url}/catalog.ttl"]) == 0
    assert main(["harvest", "lambeth"]) == 1
    out = capsys.readouterr().out
    assert "invalid table" in out and "row 6" in out


def test_harvest_all_goes_on_past_an_unreachable_source_and_exits_3(file_server: tuple[str, Path],
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import free_port, serve_lambeth

    assert main(["sources", "add", "a-gone", f"http://127.0.0.1:{free_port()}/catalog.ttl"]) == 0
    assert main(["sources", "add", "lambeth", serve_lambeth(file_server)]) == 0
    assert main(["harvest", "--all"]) == 3
    out = capsys.readouterr().out
    assert "a-gone: failed" in out and "lambeth: finished, 1 datasets, 1 changed" in out


def test_a_locked_database_exits_3_without_a_traceback(instance_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3
    import threading

    assert main(["sources", "list"]) == 0  # makes the instance
    monkeypatch.setattr("portal.db.SQLITE_BUSY_MS", 100)  # the real wait is five seconds
    locked, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        other = sqlite3.connect(instance_env / "lodestar.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        locked.set()
        release.wait(30)
        other.execute("ROLLBACK")
        other.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert locked.wait(5)
        assert main(["sources", "add", "lambeth", "http://127.0.0.1:9/catalog.ttl"]) == 3
    finally:
        release.set()
        holder.join()
    err = capsys.readouterr().err
    assert "database is locked" in err and "Traceback" not in err



def test_serve_on_a_taken_port_says_so_before_any_demo_harvest(instance_env: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    import socket
    import time

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        start = time.monotonic()
        assert main(["serve", "--demo", "--port", str(port)]) == 2
        assert time.monotonic() - start < 10  # no demo harvest first
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err
    assert main(["sources", "list", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []  # the demo was not harvested


def test_the_readme_lists_every_command() -> None:
    import argparse

    from portal.cli import build_parser

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = [name for name in sub.choices if f"`lodestar {name}" not in readme]
    assert not missing, f"commands missing from the README's command table: {missing}"
