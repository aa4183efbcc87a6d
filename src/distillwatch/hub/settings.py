"""How a hub is run: where it stores, where it listens, how much it accepts.

>>> s = HubSettings(db_url="sqlite:///tmp/hub.db", port=8800)
>>> (s.host, s.port, s.page_size_default)
('127.0.0.1', 8800, 1000)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: what ``--db`` defaults to: a SQLite file in the working directory
DEFAULT_DB_URL = "sqlite:///hub.db"


@dataclass(frozen=True)
class HubSettings:
    """Settings of one hub process. Stores only; nothing is checked or opened here.

    ``free_text_limit``, when set, caps every free-text limit of ``allowlist.toml``
    (``name`` 120, ``description`` 500, ... characters) for a stricter hub.
    ``allowlist`` replaces the packaged ``allowlist.toml`` when given.
    """

    db_url: str = DEFAULT_DB_URL
    host: str = "127.0.0.1"
    port: int = 8700
    title: str = "distillwatch sharing hub"
    description: str = "STIX 2.1 intelligence about adversarial distillation, shared by providers"
    contact: str = ""
    #: largest accepted request body in bytes (TAXII ``max_content_length``); larger -> 413
    max_content_length: int = 10 * 1024 * 1024
    #: objects per page when the client gives no ``limit``
    page_size_default: int = 1000
    #: largest page served, whatever ``limit`` asks for
    page_size_max: int = 5000
    #: cap on the length of any free-text property, in characters (None: the file's limits)
    free_text_limit: int | None = None
    allowlist: Path | None = None
    #: processes that check big envelopes (None: one per CPU up to 4; 0: check inline)
    check_workers: int | None = None
    #: uvicorn log level for :func:`distillwatch.hub.server.serve`
    log_level: str = "info"
