"""Running the gateway: :func:`serve` in the foreground, :func:`running_gateway` in a thread.

uvicorn runs with ``proxy_headers`` off (the gateway reads ``X-Forwarded-For`` itself, and
only from ``trusted_proxies``) and without an access log (the decision log says more). Its
``auto`` loop and HTTP settings pick uvloop and httptools (pinned dependencies); without
them it falls back to asyncio and h11, which cost several times more CPU per request.

>>> from distillwatch.online.api import Verdict
>>> class Quiet:
...     def score_one(self, event): return Verdict(event["account_id"], 0.0, False)
...     def learn_one(self, event): pass
...     def reload(self): pass
...     def checkpoint(self): pass
>>> import urllib.request
>>> with running_gateway(GatewaySettings(upstream="http://127.0.0.1:9"), Quiet()) as url:
...     urllib.request.urlopen(url + "/healthz").read()
b'{"status":"ok"}'
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from distillwatch.errors import GatewayError
from distillwatch.gateway.reasoning import Marker
from distillwatch.gateway.settings import GatewaySettings
from distillwatch.online.api import Scorer

_START_TIMEOUT = 20.0


def serve(settings: GatewaySettings, scorer: Scorer, *, marker: Marker | None = None) -> None:
    """Serve the gateway on ``settings.host:settings.port`` until interrupted."""
    import uvicorn

    from distillwatch.gateway.app import create_app

    app = create_app(settings, scorer, marker=marker)
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            proxy_headers=False,
            access_log=False,
        )
    except OSError as exc:
        raise GatewayError(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}; "
            "choose another --port"
        ) from exc


@contextmanager
def running_gateway(
    settings: GatewaySettings, scorer: Scorer, *, marker: Marker | None = None
) -> Iterator[str]:
    """Start a real uvicorn server on 127.0.0.1 and a free port in a background thread;
    yield its base URL; stop it (lifespan shutdown: scorer checkpoint) and join on exit.

    ``settings.host`` and ``settings.port`` are ignored.
    """
    import uvicorn

    from distillwatch.gateway.app import create_app

    app = create_app(settings, scorer, marker=marker)
    # IPPROTO_TCP so that asyncio sets TCP_NODELAY on accepted sockets (no delayed-ACK stalls)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"gateway-{port}", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise GatewayError("the gateway server did not start; see the log above")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=_START_TIMEOUT)
        sock.close()
