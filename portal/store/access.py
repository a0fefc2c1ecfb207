"""Opening the configured store, and the one lock that keeps a second portal off an instance.

The embedded store is shared by every process of an instance: each reads the active
generation and writes under the store's own lock (see `portal.store.generations`), so
`lodestar harvest` works while `lodestar serve` runs without going through the web process.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from portal.config import Settings
from portal.errors import StoreBusyError
from portal.store import TripleStore, backend

SERVE_LOCK = "serve.lock"


def embedded_store_path(settings: Settings) -> Path | None:
    """Folder of the embedded store, or None when a remote endpoint is configured."""
    spec = str(settings.store)
    if spec.startswith(("http://", "https://")):
        return None
    if spec in ("", "oxigraph"):
        return settings.instance_path / "store"
    return Path(spec.removeprefix("oxigraph:")).expanduser().resolve()


def open_store(settings: Settings) -> TripleStore:
    """Open the configured store: the embedded one in its folder, or a remote SPARQL endpoint."""
    path = embedded_store_path(settings)
    if path is None:
        remote: TripleStore = backend("sparql")(
            str(settings.store), settings.store_update_url or None, settings.store_graph_url or None,
            timeout=float(settings.http_timeout),
        )
        return remote
    embedded: TripleStore = backend("oxigraph")(path)
    return embedded


class ServeLock:
    """Held by the one `lodestar serve` of an instance; says where that portal listens."""

    def __init__(self, settings: Settings) -> None:
        self.path = settings.instance_path / SERVE_LOCK
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            self._fd = None
            running = serving(settings)
            where = f" (pid {running['pid']}) at {running['url']}" if running else ""
            raise StoreBusyError(f"a portal{where} already serves this instance") from None

    def announce(self, url: str) -> None:
        """Record where this portal listens (read by `serving`)."""
        assert self._fd is not None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps({"pid": os.getpid(), "url": url}).encode(), 0)

    def release(self) -> None:
        """Let another portal serve the instance."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None


def serving(settings: Settings) -> dict[str, object] | None:
    """The running portal's pid and URL, if one has announced itself."""
    try:
        data = json.loads((settings.instance_path / SERVE_LOCK).read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
