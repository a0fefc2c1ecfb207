"""Opening the store from several processes at once, and the one portal per instance."""

from __future__ import annotations

import pytest

from portal.config import Settings
from portal.errors import StoreBusyError
from portal.store import ask
from portal.store.access import ServeLock, embedded_store_path, open_store, serving
from portal.store.oxigraph import OxigraphStore


def test_every_command_opens_the_embedded_store_directly(settings: Settings) -> None:
    first, second = open_store(settings), open_store(settings)  # a portal and a harvest, say
    assert isinstance(first, OxigraphStore) and isinstance(second, OxigraphStore)
    second.replace_graph("http://lodestar.test/graph/p/d", b"<http://x/s> <http://x/p> <http://x/o> .\n")
    assert ask(first, "ASK { GRAPH <http://lodestar.test/graph/p/d> { ?s ?p <http://x/o> } }")
    first.close()
    second.close()


def test_the_store_folder_follows_the_setting(settings: Settings) -> None:
    assert embedded_store_path(settings) == settings.instance_path / "store"


def test_a_second_portal_is_refused_and_told_where_the_first_listens(settings: Settings) -> None:
    lock = ServeLock(settings)
    lock.announce("http://127.0.0.1:5099")
    try:
        with pytest.raises(StoreBusyError, match=r"127\.0\.0\.1:5099 already serves this instance"):
            ServeLock(settings)
        assert serving(settings) is not None
    finally:
        lock.release()
    again = ServeLock(settings)  # once the first has stopped, a portal may start
    again.release()
    assert serving(settings) is None
