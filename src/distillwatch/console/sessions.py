"""Browser sessions of the console: a random session id in an HttpOnly, SameSite=Strict
cookie, and a per-session CSRF token that every form posts back.

An analyst signs in once with their token (``/login``); the session then lives in this
process's memory for ``ttl`` (a restart signs everyone out, which is the safe failure).
Scripts may skip sessions and send ``Authorization: Bearer <token>`` instead: forms posted
that way need no CSRF token, because a browser never adds that header by itself.

>>> from datetime import timedelta
>>> jar = SessionJar(timedelta(hours=1))
>>> sid, s = jar.open("ana")
>>> jar.get(sid).analyst, jar.get("nope")
('ana', None)
>>> jar.check_csrf(s, s.csrf), jar.check_csrf(s, "forged")
(True, False)
"""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

COOKIE = "dw_console"
MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class Session:
    analyst: str
    csrf: str
    expires: datetime


class SessionJar:
    """Open, find and close sessions (thread-safe; expired ones are dropped)."""

    def __init__(self, ttl: timedelta) -> None:
        self.ttl = ttl
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, analyst: str) -> tuple[str, Session]:
        now = datetime.now(UTC)
        sid = secrets.token_urlsafe(32)
        session = Session(analyst, secrets.token_urlsafe(24), now + self.ttl)
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:
                self._sessions = {k: v for k, v in self._sessions.items() if v.expires > now}
            self._sessions[sid] = session
        return sid, session

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        with self._lock:
            session = self._sessions.get(sid)
            if session is not None and session.expires <= datetime.now(UTC):
                del self._sessions[sid]
                session = None
        return session

    def close(self, sid: str | None) -> None:
        with self._lock:
            self._sessions.pop(sid or "", None)

    @staticmethod
    def check_csrf(session: Session, token: str | None) -> bool:
        return hmac.compare_digest(session.csrf.encode(), (token or "").encode())
