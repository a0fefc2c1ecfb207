"""`lodestar serve`: one portal per instance, served by waitress; writes happen in other processes.

Who reads, who writes:
- the web process answers pages from the store's active generation (read-only) and sends
  public SPARQL queries to a pool of worker processes (see `portal.query_pool`);
- writers — `lodestar harvest`, `lodestar schedule`, and the demo harvest that `serve --demo`
  runs in a child process — each write a new store generation under the store's lock; the web
  process never receives table bodies and never writes the store.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
from collections.abc import Mapping
from types import FrameType
from typing import Any

from portal.config import Settings, load_settings
from portal.errors import ConfigError
from portal.store.access import ServeLock

log = logging.getLogger(__name__)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _seed_demo(values: Mapping[str, Any]) -> None:
    """Harvest the demo catalogue into an empty instance (runs in a child process)."""
    from portal.demo import seed
    from portal.instance import Instance

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    instance = Instance(load_settings(values, environ={}))
    try:
        seed(instance)
    finally:
        instance.close()


def seed_demo_in_child(settings: Settings) -> None:
    """Run the demo harvest in its own process and wait for it; a failure there is reported, not fatal."""
    child = multiprocessing.get_context("spawn").Process(
        target=_seed_demo, args=(dict(settings.values),), name="lodestar-demo-harvest")
    child.start()
    try:
        child.join()
    except KeyboardInterrupt:
        child.terminate()
        child.join()
        raise
    if child.exitcode != 0:
        log.error("the demo harvest ended with exit code %s; serving what is published", child.exitcode)


def serve(host: str = "127.0.0.1", port: int = 5000, demo: bool = False) -> int:
    """Run the portal until interrupted."""
    from waitress import create_server

    from portal.instance import Instance
    from portal.query_pool import server_threads
    from portal.web import create_app
    from portal.web.sparql import close_query_pool

    settings = load_settings()
    lock = ServeLock(settings)  # a second portal on this instance is refused here
    try:
        instance = Instance(settings)
        app = create_app(instance=instance)
        try:
            server = create_server(app, host=host, port=port, threads=server_threads(settings),
                                   channel_request_lookahead=1, ident="Lodestar")
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{server.effective_port}"
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            if demo:
                print(f"Harvesting the bundled demo catalogue into {settings.instance_path} …", flush=True)
                seed_demo_in_child(settings)
            lock.announce(url)
            print(f"Lodestar serving {settings.instance_path} on {url}  (Ctrl+C to stop)", flush=True)
            if settings.base_url != url:
                print(f"URIs are minted under {settings.base_url} (LODESTAR_BASE_URL)", flush=True)
            server.run()
        except KeyboardInterrupt:
            pass
        finally:
            server.close()
            close_query_pool(app)
            instance.close()
    finally:
        lock.release()
    return 0
