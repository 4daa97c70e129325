"""The registry rows built in Python (webapp/registries/rows.py, called by `_rows.html`) are the
rows the Jinja template made, byte for byte: reference_rows.html beside this file is that
template as it was, and every case renders both ways, for ORM objects and for the list's Core
rows, every kind and status, running or not, and the texts people type (markup, right-to-left,
long, zero-width, None)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask, g
from hypothesis import given
from hypothesis import strategies as st

from tests.support.apps import build_app
from tests.support.factories import Factory, registry_row
from webapp.extensions import db
from webapp.models import Registry, utcnow
from webapp.registry_client.providers import PROVIDERS
from webapp.registry_client.statuses import Status
from webapp.services import accounts, registries

REFERENCE = Path(__file__).with_name("reference_rows.html")
BASE = "/orgs/acme/settings/infrastructure/container-registry/"
NOW = datetime(2030, 5, 17, 12, 0, 0, tzinfo=UTC)

TEXTS = [
    'Build "cache" <b>&amp;</b> \'x\'',
    "<script>alert(1)</script>",
    "مستودع الصور",  # right-to-left
    "שם\u202e\u2066reversed",  # right-to-left with bidi controls
    "a" * 64,  # one unbroken word
    "zero\u200bwidth\u200c\u200d\ufeffjoiners",
    "team-a/sub:tag",
    " spaced  out ",
]
AGES = [None, timedelta(0), timedelta(seconds=44), timedelta(seconds=45), timedelta(minutes=5),
        timedelta(minutes=59, seconds=59), timedelta(hours=3), timedelta(hours=36),
        timedelta(days=400), timedelta(minutes=-10)]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = build_app(f"sqlite:///{tmp_path_factory.mktemp('rows') / 'rows.db'}")
    Factory(app).org("acme", plan="enterprise")
    yield app
    with app.app_context():
        db.engine.dispose()


def registry(**values: Any) -> Registry:
    """A registry as the list shows it (not stored): connected, checked five minutes ago."""
    fields: dict[str, Any] = {
        "id": uuid.uuid4(), "kind": "docker_registry", "name": "Team registry",
        "scheme": "https", "host": "registry.example.com:5000", "namespace": "team",
        "username": "puller", "status": "connected", "status_reason": None,
        "last_checked_at": NOW - timedelta(minutes=5), "lease_until": None,
        "check_requested_at": None,
    }
    fields.update(values)
    return Registry(**fields)


def running(**values: Any) -> Registry:
    return registry(check_requested_at=NOW, **values)


def both(app: Flask, rows: list, **context: Any) -> str:
    """The rows rendered by the reference template and by today's `_rows.html`: equal."""
    with app.test_request_context():
        g.org = SimpleNamespace(slug="acme")  # url_for's slug, when no rows_base is given
        reference = app.jinja_env.from_string(REFERENCE.read_text()).render(
            registries=rows, **context)
        current = app.jinja_env.get_template("registries/_rows.html").render(
            registries=rows, **context)
    assert current == reference
    return current


CONTEXTS = [
    {"rows_base": BASE, "now": NOW, "is_admin": True},
    {"rows_base": BASE, "now": NOW, "is_admin": False},
    {"now": NOW, "is_admin": True},  # the list's URL from url_for
    {"rows_base": "", "now": NOW, "is_admin": 1},
    {"rows_base": BASE, "now": NOW},  # no is_admin at all
]


@pytest.mark.parametrize("context", CONTEXTS)
def test_every_kind_and_status_running_or_not(app, context):
    rows = [make(kind=kind, status=status.value)
            for kind in PROVIDERS for status in Status for make in (registry, running)]
    out = both(app, rows, **context)
    assert out.count('<tr id="registry-') == len(rows) == len(PROVIDERS) * len(Status) * 2
    assert out.count('hx-trigger="every 2s"') == len(rows) // 2
    for kind in PROVIDERS.values():
        assert kind.label in out


def test_a_lease_is_running_too_and_an_old_lease_is_not(app):
    out = both(app, [registry(lease_until=utcnow() + timedelta(minutes=1)),
                     registry(lease_until=utcnow() - timedelta(minutes=1),
                              status="auth_failed", status_reason="Denied")], **CONTEXTS[0])
    assert out.count("hx-get=") == 1 and "Denied" in out


@pytest.mark.parametrize("context", CONTEXTS[:3])
def test_addresses_and_users(app, context):
    rows = [
        registry(scheme="http"),
        registry(scheme="https", namespace=None),
        registry(namespace=""),
        registry(username=None),
        registry(username=""),
        registry(kind="docker_hub", host="docker.io", namespace="acme"),
        registry(kind="github", host="ghcr.io", namespace="octo-org"),
        registry(kind="aws_ecr", host="123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
        registry(host="127.0.0.1:5000", namespace="a/b:c", scheme="http"),
    ]
    out = both(app, rows, **context)
    assert out.count("HTTP — not encrypted") == 2


@pytest.mark.parametrize("text", TEXTS)
def test_what_people_type(app, text):
    rows = [
        registry(name=text), registry(username=text), registry(namespace=text),
        registry(host=text), registry(status="auth_failed", status_reason=text),
        running(status="auth_failed", status_reason=text),  # a running check hides the reason
        registry(status="error", status_reason=text, name=text, username=text, namespace=text),
    ]
    for context in CONTEXTS[:2]:
        out = both(app, rows, **context)
        assert "<script>" not in out and "<b>" not in out


def test_reasons_that_show_nothing(app):
    both(app, [registry(status="error", status_reason=reason) for reason in (None, "")],
         **CONTEXTS[0])


@pytest.mark.parametrize("context", CONTEXTS[:2])
def test_ages(app, context):
    rows = [registry(last_checked_at=None if age is None else NOW - age) for age in AGES]
    out = both(app, rows, **context)
    assert "not checked yet" in out and "just now" in out and "3 hours ago" in out


def test_the_time_defaults_to_now(app):
    rows = [registry(last_checked_at=utcnow() - timedelta(minutes=5, seconds=30)),
            registry(last_checked_at=None)]
    assert "5 min ago" in both(app, rows, rows_base=BASE, is_admin=True)


def test_highlight(app):
    rows = [registry(), registry(), running()]
    for marked in (str(rows[1].id), str(rows[2].id), str(uuid.uuid4()), "", None):
        out = both(app, rows, highlight=marked, **CONTEXTS[0])
        assert out.count("row--new") == (1 if marked in {str(row.id) for row in rows} else 0)


def test_no_rows(app):
    assert both(app, [], **CONTEXTS[0]) == ""


def test_the_lists_core_rows(app):
    with app.app_context():
        org = accounts.find_org("acme")
        for index, text in enumerate(TEXTS):
            added = registry_row("acme", secret="s3cret", name=f"{index} {text}",
                                 username=text, namespace=text if index % 2 else "",
                                 status=["connected", "auth_failed", "checking"][index % 3],
                                 commit=False)
            added.status_reason = text if index % 3 == 1 else None
            added.last_checked_at = NOW - timedelta(minutes=index * 7)
            added.check_requested_at = NOW if index % 3 == 2 else None
        db.session.commit()
        page, _ = registries.listing(org, "", 1)
        rows = page.items
    assert len(rows) == len(TEXTS)
    for context in CONTEXTS:
        both(app, rows, **context, highlight=str(rows[3].id))


def test_the_one_row_fragment(app):
    """_row.html (a row's polling, Check now and Rename) is _rows.html with one row."""
    row = running()
    with app.test_request_context():
        g.org = SimpleNamespace(slug="acme")
        one = app.jinja_env.get_template("registries/_row.html").render(
            registry=row, now=NOW, is_admin=True)
    assert one == both(app, [row], now=NOW, is_admin=True)


@given(
    name=st.text(), username=st.none() | st.text(), namespace=st.none() | st.text(),
    host=st.text(), reason=st.none() | st.text(), admin=st.booleans(), http=st.booleans(),
)
def test_any_text(app, name, username, namespace, host, reason, admin, http):
    row = registry(name=name, username=username, namespace=namespace, host=host,
                   status="auth_failed", status_reason=reason, scheme="http" if http else "https")
    both(app, [row, running(name=name)], rows_base=BASE, now=NOW, is_admin=admin)


def test_an_unknown_kind_or_status_fails_both_ways(app):
    for row in (registry(kind="quay"), registry(status="sleeping")):
        for source in (REFERENCE.read_text(), None):
            with app.test_request_context(), pytest.raises(ValueError):
                template = (app.jinja_env.from_string(source) if source
                            else app.jinja_env.get_template("registries/_rows.html"))
                template.render(registries=[row], **CONTEXTS[0])
