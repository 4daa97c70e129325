"""The session cookie, renewed only when renewing moves its idle timeout on.

Flask's cookie session with `SESSION_REFRESH_EACH_REQUEST` signs and sends a new cookie on every
response, so that its idle timeout (`PERMANENT_SESSION_LIFETIME`, 30 minutes: security.md
WEB-03) starts again. Here a request that changes nothing renews the cookie only when the one it
came with was issued `SESSION_RENEW_AFTER` ago or more (a minute): an active person's session
still expires 30 minutes after their last request (29 at the earliest), and a page served twice
within a minute sends no `Set-Cookie` the second time. A changed session is always sent. The
signature's own timestamp says when a cookie was issued, and loading a cookie older than the
lifetime fails as before (the server, not only the browser, enforces the idle timeout).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature


class IssuedSession(SecureCookieSession):
    #: When the cookie this session came from was signed (None: there was none).
    issued_at: datetime | None = None


class RenewingSessionInterface(SecureCookieSessionInterface):
    session_class = IssuedSession

    def open_session(self, app: Flask, request) -> IssuedSession | None:  # type: ignore[override]
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data, issued_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        session = self.session_class(data)
        session.issued_at = issued_at
        return session

    def should_set_cookie(self, app: Flask, session: IssuedSession) -> bool:  # type: ignore[override]
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        issued_at = getattr(session, "issued_at", None)
        if issued_at is None:
            return True
        age = datetime.now(UTC) - issued_at
        return age >= app.config["SESSION_RENEW_AFTER"]
