"""Settings: one table of `Setting(name, default, help)`, read in layers.

Layers, later winning: built-in defaults → ``config.toml`` in the instance folder →
``LODESTAR_*`` environment variables → the mapping a caller (a test) passes in.
This is the only module that reads the environment.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portal.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    """One documented setting: its name, default and what it is for."""

    name: str
    default: Any
    help: str

    @property
    def env(self) -> str:
        """The environment variable that sets it."""
        return "LODESTAR_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("instance", "./instance", "Instance folder: triple store, database, downloads, logs."),
    Setting("base_url", "http://127.0.0.1:5000", "Base of every URI the portal mints; no trailing slash."),
    Setting("database_url", "", "SQLAlchemy URL of the operational database; empty means a SQLite file "
            "in the instance folder."),
    Setting("store", "", "Triple store: empty or 'oxigraph' for the embedded store in the instance folder, "
            "'oxigraph:PATH' for one elsewhere, or the query URL of a SPARQL 1.1 endpoint "
            "(http(s)://…; update and graph-store URLs are derived, see store_update_url)."),
    Setting("store_update_url", "", "SPARQL 1.1 Update URL of a remote store (default: the query URL "
            "with /query replaced by /update)."),
    Setting("store_graph_url", "", "SPARQL 1.1 Graph Store Protocol URL of a remote store (default: the "
            "query URL with /query replaced by /store)."),
    Setting("sparql_timeout", 30.0, "Seconds a public SPARQL query may run on the embedded store before "
            "its worker process is stopped (HTTP 503, sparql/timeout)."),
    Setting("sparql_max_rows", 10000, "Most solutions (SELECT) or triples (CONSTRUCT, DESCRIBE) a public "
            "query returns; a cut answer says so (header Lodestar-Truncated: true; in SPARQL JSON results "
            "also a \"lodestar\" member)."),
    Setting("sparql_workers", 3, "Worker processes that evaluate public SPARQL queries on the embedded "
            "store (the web server gets sparql_workers + sparql_queue + 8 threads)."),
    Setting("sparql_queue", 8, "Public queries that may wait for a free worker; past that the answer is "
            "503 with Retry-After."),
    Setting("sparql_client_share", 2, "Public queries one client address may have running or waiting; "
            "past that the answer is 429 with Retry-After."),
    Setting("sparql_worker_memory_mb", 1024, "Resident memory (MB) a query worker may use; past it the "
            "query is stopped (HTTP 503, sparql/too-much-memory)."),
    Setting("allow_private_addresses", False, "Let outbound HTTP reach loopback, private, link-local and "
            "other non-public addresses (local sources, tests); off, a catalogue cannot make the portal "
            "fetch internal endpoints (SSRF)."),
    Setting("http_connect_timeout", 10.0, "Seconds an outbound HTTP connection may take to open."),
    Setting("http_timeout", 30.0, "Seconds one read of an outbound HTTP answer (harvest, schema, remote "
            "store) may wait for data."),
    Setting("http_deadline", 300.0, "Seconds a whole outbound HTTP request of a harvest may take: "
            "redirects, retries and the body included (the remote store has no such limit)."),
    Setting("http_max_redirects", 5, "Redirects an outbound HTTP request follows at most."),
    Setting("http_retries", 3, "Retries of an idempotent outbound HTTP request after a connection error "
            "or a 429/502/503/504 answer, with exponential backoff that honours Retry-After."),
    Setting("max_download_bytes", 200 * 1024 * 1024, "Largest resource file a harvest downloads."),
    Setting("harvest_every_hours", 24.0, "Hours between scheduled harvests of a source that sets no "
            "interval of its own (`sources add --every`)."),
    Setting("harvest_check_minutes", 5.0, "Minutes between the scheduler's looks for sources whose "
            "harvest is due (`lodestar schedule`)."),
    Setting("withdraw_max_share", 0.5, "Largest share of a source's datasets one harvest may withdraw "
            "because the source stopped listing them; past it (or on an empty listing) nothing is "
            "withdrawn until `harvest --confirm-withdrawals`."),
    Setting("freshness_every_minutes", 60.0, "Minutes between scheduled freshness evaluations "
            "(`lodestar schedule`)."),
    Setting("deliver_every_minutes", 1.0, "Minutes between the scheduler's rounds of alert deliveries (new "
            "events, retries that are due, digests at their hour)."),
    Setting("alert_max_attempts", 8, "Attempts of one alert delivery (webhook or e-mail) before it is given up "
            "and kept in the delivery log as failed."),
    Setting("alert_retry_base_seconds", 30.0, "Wait before the second attempt of a failed alert delivery; each "
            "later wait doubles (with jitter, at most 6 h), and a receiver's Retry-After is honoured."),
    Setting("webhook_timeout", 10.0, "Seconds one webhook delivery may take in all (connect, send, answer)."),
    Setting("webhook_workers", 32, "Webhook deliveries sent at the same time."),
    Setting("webhook_disable_after", 10, "Failed webhook deliveries in a row after which an endpoint is "
            "disabled (its owner is told by e-mail when it has an owner address and SMTP is set)."),
    Setting("smtp_url", "", "SMTP server for e-mail alerts, e.g. smtp://user:password@mail.example.org:587"
            "?starttls=1 or smtps://…:465; empty: no e-mail (alerts stay in feeds and webhooks)."),
    Setting("mail_from", "Lodestar alerts <alerts@localhost>", "Sender of alert, confirmation and reminder "
            "e-mails."),
    Setting("digest_hour", 7, "Hour of the day (UTC) at which daily digest e-mails go out."),
    Setting("confirm_token_hours", 48.0, "Hours a subscription's confirmation link (double opt-in) stays "
            "valid; it works once."),
    Setting("publisher", "lodestar", "Publisher slug used for datasets whose source names none."),
    Setting("site_title", "Lodestar", "Title shown on every page of the portal."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one instance."""

    values: Mapping[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def instance_path(self) -> Path:
        """The instance folder, made absolute."""
        return Path(self.values["instance"]).expanduser().resolve()

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the instance folder."""
        return self.values["database_url"] or f"sqlite:///{self.instance_path / 'lodestar.db'}"


def _coerce(setting: Setting, raw: Any) -> Any:
    if isinstance(setting.default, bool):
        return str(raw).lower() in {"1", "true", "yes", "on"}
    if isinstance(setting.default, (int, float)) and not isinstance(raw, (int, float)):
        try:
            return type(setting.default)(raw)
        except ValueError:
            raise ConfigError(f"{setting.env}: expected a number, got {raw!r}") from None
    return raw


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Resolve every setting from defaults, instance file, environment and overrides."""
    env = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(_BY_NAME)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {s.name: s.default for s in SETTINGS}
    instance = overrides.get("instance") or env.get("LODESTAR_INSTANCE") or values["instance"]
    config_file = Path(instance).expanduser() / "config.toml"
    if config_file.is_file():
        try:
            from_file = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{config_file}: {exc}") from exc
        for name, raw in from_file.items():
            if name not in _BY_NAME:
                raise ConfigError(f"{config_file}: unknown setting {name!r}")
            values[name] = _coerce(_BY_NAME[name], raw)
    for setting in SETTINGS:
        if setting.env in env:
            values[setting.name] = _coerce(setting, env[setting.env])
    for name, raw in overrides.items():
        values[name] = _coerce(_BY_NAME[name], raw)
    values["base_url"] = str(values["base_url"]).rstrip("/")
    if not values["base_url"].startswith(("http://", "https://")):
        raise ConfigError(f"LODESTAR_BASE_URL must be an http(s) URL, got {values['base_url']!r}")
    return Settings(values)


def settings_table() -> str:
    """The settings as a Markdown table, for the README and `lodestar settings`."""
    rows = ["| setting | environment | default | what it is for |", "|---|---|---|---|"]
    for s in SETTINGS:
        rows.append(f"| `{s.name}` | `{s.env}` | `{s.default!r}` | {s.help} |")
    return "\n".join(rows)
