"""The pull-token exchange's own limits, with the exchange itself replaced (the real one is in
tests/integration/test_pull_tokens.py): at most PULL_TOKEN_EXCHANGES_PER_ORG at once per org,
one flight per repository, and the cache keyed by the credentials' version."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from tests.support.apps import build_app
from tests.support.factories import Factory, registry_row
from webapp.extensions import db
from webapp.models import Registry
from webapp.registry_client.check import PullTokenResult
from webapp.registry_client.reference import parse_reference
from webapp.registry_client.statuses import Status
from webapp.services import credentials, pull_tokens


@pytest.fixture
def limited(tmp_path, monkeypatch):
    app = build_app(f"sqlite:///{tmp_path / 'limits.db'}", PULL_TOKEN_EXCHANGES_PER_ORG=2)
    Factory(app).org("acme", plan="enterprise")
    with app.app_context():
        registry_id = registry_row(secret="s3cret", host="registry.example.com", name="R").id
    running, peak, calls = [0], [0], []
    lock = threading.Lock()

    def exchange(target, settings, image_path):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            calls.append((image_path, target.secret))
        time.sleep(0.3)
        with lock:
            running[0] -= 1
        return PullTokenResult(Status.CONNECTED, "", token=uuid.uuid4().hex, expires_in=300)

    monkeypatch.setattr(pull_tokens, "exchange_pull_token", exchange)
    yield app, registry_id, peak, calls
    with app.app_context():
        db.engine.dispose()


def obtain_in_threads(app, registry_id, images: list[str]) -> list[str]:
    tokens: list[str] = []

    def one(image: str) -> None:
        with app.app_context():
            registry = db.session.get(Registry, registry_id)
            tokens.append(pull_tokens.obtain(registry, parse_reference(image)).token)

    threads = [threading.Thread(target=one, args=(image,)) for image in images]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return tokens


def test_at_most_the_orgs_limit_run_at_once(limited):
    app, registry_id, peak, calls = limited
    images = [f"registry.example.com/team/tool-{n}:1" for n in range(5)]
    tokens = obtain_in_threads(app, registry_id, images)
    assert len(tokens) == 5 and len(set(tokens)) == 5
    assert peak[0] == 2


def test_one_flight_per_repository_and_the_cache_follows_the_secret(limited):
    app, registry_id, peak, calls = limited
    tokens = obtain_in_threads(app, registry_id, ["registry.example.com/team/tool:1"] * 4)
    assert len(set(tokens)) == 1 and len(calls) == 1  # one exchange, shared
    assert obtain_in_threads(app, registry_id, ["registry.example.com/team/tool:2"]) == tokens[:1]
    with app.app_context():
        registry = db.session.get(Registry, registry_id)
        credentials.store_secret(registry, "a new secret")
        db.session.commit()
    fresh = obtain_in_threads(app, registry_id, ["registry.example.com/team/tool:1"])
    assert fresh != tokens[:1] and calls[-1][1] == "a new secret"
