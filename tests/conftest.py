"""Fixtures every test can use: the app, clients with CSRF on, sign-in, factories, a live server
and a real browser. The real-registry fixtures live in tests/support/registry_fixtures.py (loaded
through pytest's addopts), the browser ones in tests/support/browser.py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

from webapp import create_app
from webapp.extensions import db
from webapp.models import Organization, User
from webapp.services import accounts

from .support.components import missing

hypothesis_settings.register_profile("ci", deadline=None, max_examples=200)
hypothesis_settings.register_profile("dev", deadline=None, max_examples=100)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")

TEST_KEYS = "t1:" + "A" * 43  # 32 zero-ish bytes, urlsafe base64; only ever used in tests
PASSWORD = "correct horse battery"
BASE_URL = "https://localhost"
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|name="csrf-token" content="([^"]+)"')


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
    app = create_app(make_config(database_url, **overrides))
    app.test_client_class = Client
    with app.app_context():
        db.create_all()
    return app


def signed_in(app: Flask, email: str, password: str = PASSWORD) -> Client:
    client = app.test_client()
    client.post_form("/login", {"email": email, "password": password})
    return client  # type: ignore[return-value]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'app.db'}"


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = build_app(database_url)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> Client:
    return app.test_client()  # type: ignore[return-value]


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def hx() -> dict[str, str]:
    """Headers of an htmx request that swaps a fragment."""
    return {"HX-Request": "true"}


class Factory:
    def __init__(self, app: Flask):
        self.app = app
        self._count = 0

    def org(self, slug: str | None = None, plan: str = "enterprise", name: str | None = None):
        self._count += 1
        slug = slug or f"org{self._count}"
        with self.app.app_context():
            org = accounts.create_org(slug, name or slug.title(), plan)
            db.session.commit()
            return org.slug

    def user(self, email: str | None = None, org: str | None = None, role: str = "admin",
             support: bool = False) -> str:
        self._count += 1
        email = email or f"user{self._count}@example.com"
        with self.app.app_context():
            org_row = accounts.find_org(org) if org else None
            accounts.create_user(email, PASSWORD, org=org_row, role=role, support=support)
            db.session.commit()
        return email


@pytest.fixture
def make(app: Flask) -> Factory:
    return Factory(app)


class AuthActions:
    def __init__(self, client: Client):
        self.client = client

    def login(self, email: str, password: str = PASSWORD, follow: bool = False):
        return self.client.post_form(
            "/login", {"email": email, "password": password}, follow_redirects=follow
        )

    def logout(self):
        return self.client.post_form("/logout", token_from="/")


@pytest.fixture
def auth(client: Client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def org_admin(make: Factory, auth: AuthActions) -> tuple[str, str]:
    """An Enterprise org with a signed-in admin: (slug, email)."""
    slug = make.org("acme", plan="enterprise")
    email = make.user("admin@acme.test", org=slug, role="admin")
    auth.login(email)
    return slug, email


# --- the data layer on SQLite and, when TEST_DATABASE_URL is set, PostgreSQL ------------------

def _postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url else None


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend: data-layer tests run on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'backend.db'}"
    url = _postgres_url()
    if not url:
        missing("PostgreSQL", "TEST_DATABASE_URL is not set")
    try:
        _reset_postgres(url)
    except Exception as error:  # noqa: BLE001 - any failure to reach it means "missing"
        missing("PostgreSQL", f"cannot reach TEST_DATABASE_URL ({type(error).__name__})")
    return url


@pytest.fixture
def backend_app(backend_url: str) -> Iterator[Flask]:
    app = build_app(backend_url)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def org_row(slug: str) -> Organization:
    return db.session.query(Organization).filter_by(slug=slug).one()


def user_row(email: str) -> User:
    return db.session.query(User).filter_by(email=email).one()
