"""Opening the configured store, and reaching the one owned by a running portal.

The embedded store is a single on-disk database with one owning process. `lodestar serve`
owns it and announces itself in ``server.json`` in the instance folder (its URL and a secret
token); any other command that finds the store locked talks to that server's private store
endpoint instead, so a data officer can harvest while the portal serves.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from portal.config import Settings
from portal.errors import StoreBusyError
from portal.store import TripleStore, backend

SERVER_FILE = "server.json"


@dataclass(frozen=True)
class ServerAnnouncement:
    """What a running portal tells other processes of the same instance."""

    pid: int
    url: str
    token: str

    @property
    def store_urls(self) -> tuple[str, str, str]:
        """Query, update and graph-store URLs of the private store endpoint."""
        return (f"{self.url}/-/store/query", f"{self.url}/-/store/update", f"{self.url}/-/store/graph")


def embedded_store_path(settings: Settings) -> Path | None:
    """Folder of the embedded store, or None when a remote endpoint is configured."""
    spec = str(settings.store)
    if spec.startswith(("http://", "https://")):
        return None
    if spec in ("", "oxigraph"):
        return settings.instance_path / "store"
    return Path(spec.removeprefix("oxigraph:")).expanduser().resolve()


def announce_server(settings: Settings, url: str) -> ServerAnnouncement:
    """Write ``server.json`` (private to the owner) and return what it says."""
    announcement = ServerAnnouncement(os.getpid(), url.rstrip("/"), secrets.token_urlsafe(32))
    path = settings.instance_path / SERVER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(announcement.__dict__, fh)
    return announcement


def withdraw_server(settings: Settings, announcement: ServerAnnouncement) -> None:
    """Remove ``server.json`` if it is still ours."""
    found = read_announcement(settings)
    if found is not None and found.token == announcement.token:
        (settings.instance_path / SERVER_FILE).unlink(missing_ok=True)


def read_announcement(settings: Settings) -> ServerAnnouncement | None:
    """The running portal's announcement, if the file exists and is readable."""
    try:
        data = json.loads((settings.instance_path / SERVER_FILE).read_text(encoding="utf-8"))
        return ServerAnnouncement(int(data["pid"]), str(data["url"]), str(data["token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def answers(announcement: ServerAnnouncement, timeout: float) -> bool:
    """True when the announced portal answers its health check."""
    try:
        response = requests.get(f"{announcement.url}/-/health", timeout=timeout)
    except requests.RequestException:
        return False
    return response.ok


def _open_embedded(path: Path, wait: float,
                   on_busy: Callable[[StoreBusyError], TripleStore | None]) -> TripleStore:
    """Open the embedded store; while it is busy, ask `on_busy` for another way in, then retry."""
    embedded = backend("oxigraph")
    deadline = time.monotonic() + wait
    while True:
        try:
            store: TripleStore = embedded(path)
            return store
        except StoreBusyError as busy:
            other = on_busy(busy)
            if other is not None:
                return other
            if time.monotonic() >= deadline:
                raise StoreBusyError(
                    f"the store in {path} is in use by another Lodestar command and no running "
                    f"portal answers for it; try again when that command has finished") from busy
            time.sleep(0.5)


def open_store(settings: Settings, *, wait: float = 10.0) -> TripleStore:
    """Open the configured store; when another process owns the embedded one, reach it through that process."""
    path = embedded_store_path(settings)
    if path is None:
        remote: TripleStore = backend("sparql")(
            str(settings.store), settings.store_update_url or None, settings.store_graph_url or None,
            timeout=float(settings.http_timeout),
        )
        return remote

    def through_portal(busy: StoreBusyError) -> TripleStore | None:
        announcement = read_announcement(settings)
        if announcement is None or not answers(announcement, timeout=5.0):
            return None
        query_url, update_url, graph_url = announcement.store_urls
        through: TripleStore = backend("sparql")(
            query_url, update_url, graph_url, headers={"Authorization": f"Bearer {announcement.token}"},
            timeout=max(float(settings.http_timeout), 600.0))
        return through

    return _open_embedded(path, wait, through_portal)


def own_store(settings: Settings, *, wait: float = 120.0) -> TripleStore | None:
    """Open the embedded store as its owning process (for `lodestar serve`); None for a remote store.

    Waits for a running command to let go of the store, but refuses at once when another
    portal already serves the instance.
    """
    path = embedded_store_path(settings)
    if path is None:
        return None

    def refuse_second_portal(busy: StoreBusyError) -> None:
        running = read_announcement(settings)
        if running is not None and answers(running, timeout=5.0):
            raise StoreBusyError(f"a portal (pid {running.pid}) already serves this instance "
                                 f"at {running.url}") from busy
        return None

    return _open_embedded(path, wait, refuse_second_portal)
