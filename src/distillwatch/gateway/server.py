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

from collections.abc import Iterator
from contextlib import contextmanager

from distillwatch.errors import GatewayError
from distillwatch.gateway.reasoning import Marker
from distillwatch.gateway.settings import GatewaySettings
from distillwatch.online.api import Scorer
from distillwatch.serving import serve_forever, serve_in_thread


def serve(settings: GatewaySettings, scorer: Scorer, *, marker: Marker | None = None) -> None:
    """Serve the gateway on ``settings.host:settings.port`` until interrupted."""
    from distillwatch.gateway.app import create_app

    serve_forever(
        create_app(settings, scorer, marker=marker),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        error=GatewayError,
        access_log=False,
    )


@contextmanager
def running_gateway(
    settings: GatewaySettings, scorer: Scorer, *, marker: Marker | None = None
) -> Iterator[str]:
    """Start a real uvicorn server on 127.0.0.1 and a free port in a background thread;
    yield its base URL; stop it (lifespan shutdown: scorer checkpoint) and join on exit.

    ``settings.host`` and ``settings.port`` are ignored.
    """
    from distillwatch.gateway.app import create_app

    app = create_app(settings, scorer, marker=marker)
    with serve_in_thread(app, name="gateway", error=GatewayError) as url:
        yield url
