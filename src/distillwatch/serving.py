"""Serving an ASGI app (the hub, the gateway) with uvicorn, in the foreground or a thread.

:func:`serve_forever` runs until interrupted and turns "address in use" into the caller's
one-line error; :func:`serve_in_thread` starts a real server on 127.0.0.1 and a free port
in a background thread (tests, demos, benchmarks) and stops it on exit.

>>> async def app(scope, receive, send):
...     if scope["type"] == "http":
...         await send({"type": "http.response.start", "status": 204, "headers": []})
...         await send({"type": "http.response.body", "body": b""})
>>> import urllib.request
>>> with serve_in_thread(app, name="doc", error=RuntimeError) as url:
...     urllib.request.urlopen(url + "/").status
204
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

START_TIMEOUT = 20.0


def serve_forever(
    app: Any,
    *,
    host: str,
    port: int,
    log_level: str,
    error: Callable[[str], Exception],
    **options: Any,
) -> None:
    """Serve ``app`` on ``host:port`` until interrupted; ``error(message)`` if it cannot
    listen."""
    import uvicorn

    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=False, **options)
    except OSError as exc:
        raise error(
            f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port"
        ) from exc


@contextmanager
def serve_in_thread(
    app: Any, *, name: str, error: Callable[[str], Exception], **options: Any
) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 and a free port in a thread; yield ``http://127.0.0.1:PORT``."""
    import uvicorn

    # proto must be IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only then, and
    # without it every keep-alive response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", proxy_headers=False, **options
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"{name}-{port}", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise error(f"the {name} server did not start; see the log above")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT)
        sock.close()
