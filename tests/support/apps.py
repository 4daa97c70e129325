"""Test apps: their configuration, a temporary instance folder each, the https test client with
CSRF on, and signing in.

A test app's configuration is `make_config`'s mapping and nothing else: `create_app` given a
mapping reads neither the environment nor an instance/config.py (webapp/configuration.py), so a
developer's settings cannot change what a test sees. What the suite takes from its own
environment (TEST_DATABASE_URL, TEST_REDIS_URL: see `components`) is passed on explicitly, as a
database URL or a broker URL in the mapping. Each app gets a fresh temporary instance folder,
so running the suite writes nothing into the checkout.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from webapp import create_app
from webapp.extensions import db

TEST_KEYS = "t1:" + "A" * 43  # 32 zero-ish bytes, urlsafe base64; only ever used in tests
PASSWORD = "correct horse battery"
BASE_URL = "https://localhost"
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|name="csrf-token" content="([^"]+)"')

#: Every test app's instance folder is a fresh one below this; removed when the run ends.
_INSTANCES = tempfile.TemporaryDirectory(prefix="registry-connect-test-instances-")


def make_config(database_url: str, **extra: object) -> dict[str, object]:
    config: dict[str, object] = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "CREDENTIAL_KEYS": TEST_KEYS,
        "SECRET_KEY": "test-secret-key",
        "RATELIMIT_ENABLED": False,
    }
    config.update(extra)
    return config


def instance_folder() -> str:
    """A fresh, empty instance folder outside the checkout."""
    return tempfile.mkdtemp(prefix="instance-", dir=_INSTANCES.name)


def make_app(config: Mapping[str, Any]) -> Flask:
    """`create_app` with exactly this configuration and its own temporary instance folder."""
    return create_app(config, instance_path=instance_folder())


class Client(FlaskClient):
    """A test client that talks https to localhost with a same-origin Referer, as browsers do,
    so the strict CSRF Referer check stays on."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.environ_base["HTTP_REFERER"] = BASE_URL + "/"

    def open(self, *args, **kwargs):
        kwargs.setdefault("base_url", BASE_URL)
        return super().open(*args, **kwargs)

    def csrf_token(self, path: str = "/login") -> str:
        page = self.get(path, follow_redirects=True).get_data(as_text=True)
        match = CSRF_INPUT.search(page)
        assert match, f"no CSRF token on {path}"
        return match.group(1) or match.group(2)

    def post_form(self, path: str, data: dict | None = None, *, token_from: str | None = None,
                  **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token(token_from or path))
        return self.post(path, data=data, **kwargs)


def build_app(database_url: str, **overrides: object) -> Flask:
    """An app on an empty database: tables made, the https test client with CSRF on."""
    app = make_app(make_config(database_url, **overrides))
    app.test_client_class = Client
    with app.app_context():
        db.create_all()
    return app


def signed_in(app: Flask, email: str, password: str = PASSWORD) -> Client:
    client = app.test_client()
    client.post_form("/login", {"email": email, "password": password})
    return client  # type: ignore[return-value]


class AuthActions:
    """Sign in and out through the real forms (flaskr's pattern)."""

    def __init__(self, client: Client):
        self.client = client

    def login(self, email: str, password: str = PASSWORD, follow: bool = False):
        return self.client.post_form(
            "/login", {"email": email, "password": password}, follow_redirects=follow
        )

    def logout(self):
        return self.client.post_form("/logout", token_from="/")
