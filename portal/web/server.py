"""`lodestar serve`: own the store, announce the private store endpoint, serve with waitress."""

from __future__ import annotations

import signal
from types import FrameType

from portal.config import load_settings
from portal.demo import seed as seed_demo
from portal.instance import Instance
from portal.store.access import announce_server, own_store, withdraw_server


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve(host: str = "127.0.0.1", port: int = 5000, demo: bool = False) -> int:
    """Run the portal until interrupted."""
    from waitress import create_server

    from portal.web import create_app

    settings = load_settings()
    instance = Instance(settings, store=own_store(settings))
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if demo:
            seed_demo(instance)
        app = create_app(instance=instance)
        server = create_server(app, host=host, port=port, threads=8)
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{server.effective_port}"
        announcement = announce_server(settings, url)
        app.config["STORE_TOKEN"] = announcement.token
        print(f"Lodestar serving {settings.instance_path} on {url}  (Ctrl+C to stop)", flush=True)
        if settings.base_url != url:
            print(f"URIs are minted under {settings.base_url} (LODESTAR_BASE_URL)", flush=True)
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        finally:
            withdraw_server(settings, announcement)
            server.close()
    finally:
        instance.close()
    return 0
