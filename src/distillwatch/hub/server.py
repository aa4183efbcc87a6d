"""Running the hub: :func:`serve` in the foreground, :func:`running_hub` in a thread.

>>> from distillwatch.hub.settings import HubSettings
>>> import urllib.request
>>> with running_hub(HubSettings(db_url="sqlite://", check_workers=0)) as url:
...     urllib.request.urlopen(url + "/taxii2/")
Traceback (most recent call last):
urllib.error.HTTPError: HTTP Error 401: Unauthorized
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from distillwatch.errors import HubError
from distillwatch.hub.settings import HubSettings

_START_TIMEOUT = 20.0


def serve(settings: HubSettings) -> None:
    """Serve the hub on ``settings.host:settings.port`` until interrupted."""
    import uvicorn

    from distillwatch.hub.app import create_app

    app = create_app(settings)
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            proxy_headers=False,
        )
    except OSError as exc:
        raise HubError(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}; "
            "choose another --port"
        ) from exc


@contextmanager
def running_hub(settings: HubSettings) -> Iterator[str]:
    """Start a real uvicorn server on 127.0.0.1 and a free port in a background thread;
    yield its base URL (``http://127.0.0.1:PORT``); stop it and join the thread on exit.

    ``settings.host`` and ``settings.port`` are ignored.
    """
    import uvicorn

    from distillwatch.hub.app import create_app

    app = create_app(settings)
    # proto must be IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only then, and
    # without it every keep-alive response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"hub-{port}", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise HubError("the hub server did not start; see the log above")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=_START_TIMEOUT)
        sock.close()
