"""Who opens the embedded store: the owner, a command reaching a running portal, or nobody (busy)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from portal.config import Settings
from portal.errors import StoreBusyError
from portal.instance import Instance
from portal.store import TripleStore, ask
from portal.store.access import (
    SERVER_FILE,
    announce_server,
    embedded_store_path,
    open_store,
    own_store,
    withdraw_server,
)
from portal.store.oxigraph import OxigraphStore
from portal.store.sparql_http import SparqlHttpStore


@pytest.fixture
def running_portal(settings: Settings) -> Iterator[TripleStore]:
    """A portal serving the instance in this process (waitress on loopback), announced in server.json."""
    from waitress import create_server

    from portal.web import create_app

    store = own_store(settings)
    assert isinstance(store, OxigraphStore)
    instance = Instance(settings, store=store)
    app = create_app(instance=instance)
    server = create_server(app, host="127.0.0.1", port=0, threads=2)
    announcement = announce_server(settings, f"http://127.0.0.1:{server.effective_port}")
    app.config["STORE_TOKEN"] = announcement.token
    threading.Thread(target=server.run, daemon=True).start()
    yield store
    withdraw_server(settings, announcement)
    server.close()
    instance.close()


def test_a_free_store_is_opened_directly(settings: Settings) -> None:
    store = open_store(settings)
    assert isinstance(store, OxigraphStore)
    store.close()


def test_a_stale_announcement_is_ignored_when_the_store_is_free(settings: Settings) -> None:
    announcement = announce_server(settings, "http://127.0.0.1:9")  # nobody listens there
    assert (settings.instance_path / SERVER_FILE).stat().st_mode & 0o777 == 0o600
    store = open_store(settings)
    assert isinstance(store, OxigraphStore)
    store.close()
    withdraw_server(settings, announcement)
    assert not (settings.instance_path / SERVER_FILE).exists()


def test_commands_reach_the_store_through_a_running_portal(settings: Settings,
                                                           running_portal: TripleStore) -> None:
    running_portal.replace_graph("http://lodestar.test/graph/p/d", b"<http://x/s> <http://x/p> <http://x/o> .\n")
    store = open_store(settings, wait=0)
    assert isinstance(store, SparqlHttpStore)
    assert ask(store, "ASK { GRAPH <http://lodestar.test/graph/p/d> { ?s ?p <http://x/o> } }")
    store.replace_graph("http://lodestar.test/graph/p/e", b"<http://x/s> <http://x/p> <http://x/o2> .\n")
    assert ask(running_portal, "ASK { ?s ?p <http://x/o2> }")
    store.close()


def test_a_second_portal_is_refused(settings: Settings, running_portal: TripleStore) -> None:
    with pytest.raises(StoreBusyError, match="already serves this instance"):
        own_store(settings, wait=0)


def test_a_store_held_by_another_command_is_busy(settings: Settings) -> None:
    path = embedded_store_path(settings)
    assert path is not None
    holder = OxigraphStore(path)  # as a running `lodestar harvest` would hold it
    try:
        with pytest.raises(StoreBusyError, match="in use by another Lodestar command"):
            open_store(settings, wait=0.5)
    finally:
        holder.close()
    again = open_store(settings, wait=0)
    assert isinstance(again, OxigraphStore)
    again.close()
