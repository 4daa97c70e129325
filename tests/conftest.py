"""Fixtures every test can use: the app, clients with CSRF on, sign-in, factories, htmx headers.

What they are made of lives in tests/support: `apps` (the configuration, the test client,
sign-in), `factories` (rows), `components` (PostgreSQL, Redis, what happens when one is
missing). The real-registry fixtures are in tests/support/registry_fixtures.py and the browser
ones in tests/support/browser.py (loaded through pytest's addopts).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

from webapp.extensions import db

from .support.apps import AuthActions, Client, build_app
from .support.components import missing, postgres_url
from .support.factories import Factory

hypothesis_settings.register_profile("ci", deadline=None, max_examples=200)
hypothesis_settings.register_profile("dev", deadline=None, max_examples=100)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")


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
    """Headers of an htmx request that swaps a fragment (`htmx.is_partial`)."""
    return {"HX-Request": "true"}


@pytest.fixture
def make(app: Flask) -> Factory:
    return Factory(app)


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
    url = postgres_url()
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

