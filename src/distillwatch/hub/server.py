"""Running the hub: :func:`serve` in the foreground, :func:`running_hub` in a thread.

>>> from distillwatch.hub.settings import HubSettings
>>> import urllib.request
>>> with running_hub(HubSettings(db_url="sqlite://", check_workers=0)) as url:
...     urllib.request.urlopen(url + "/taxii2/")
Traceback (most recent call last):
urllib.error.HTTPError: HTTP Error 401: Unauthorized
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from distillwatch.errors import HubError
from distillwatch.hub.settings import HubSettings
from distillwatch.serving import serve_forever, serve_in_thread


def serve(settings: HubSettings) -> None:
    """Serve the hub on ``settings.host:settings.port`` until interrupted."""
    from distillwatch.hub.app import create_app

    serve_forever(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        error=HubError,
    )


@contextmanager
def running_hub(settings: HubSettings) -> Iterator[str]:
    """Start a real uvicorn server on 127.0.0.1 and a free port in a background thread;
    yield its base URL (``http://127.0.0.1:PORT``); stop it and join the thread on exit.

    ``settings.host`` and ``settings.port`` are ignored.
    """
    from distillwatch.hub.app import create_app

    with serve_in_thread(create_app(settings), name="hub", error=HubError) as url:
        yield url
