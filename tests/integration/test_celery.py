"""Checks on Celery: a real worker process (threads pool, embedded beat) on Redis.

The worker shares a file-backed SQLite database with the test (it cannot see `sqlite://`) and
consumes a queue of its own, so runs sharing the Redis server do not take each other's tasks.
Without TEST_REDIS_URL these tests skip locally and fail in CI.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask

from tests.integration.test_background import (
    SUBPROCESS_SECRET_KEY,
    background_app,
    check_rows,
    fresh,
    good_registry,
    served_environment,
)
from tests.support.apps import PASSWORD, TEST_KEYS, Client, make_app, make_config, signed_in
from tests.support.components import redis_url as reachable_redis
from tests.support.registries import free_port
from tests.support.shell import BIN, ROOT, fresh_environment, running
from webapp.extensions import db
from webapp.models import PrivateTool, Registry
from webapp.services import accounts, checks, pull_checks

WORKER_TIMEOUT = 20.0  # seconds for a started worker to record a check


@pytest.fixture
def redis_url() -> str:
    return reachable_redis()


@pytest.fixture
def queue(redis_url: str) -> Iterator[str]:
    name = f"registry-checks-test-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    client.delete(name, f"_kombu.binding.{name}")
    client.close()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'celery.db'}"


def celery_app(database_url: str, broker_url: str, queue: str) -> Iterator[Flask]:
    yield from background_app(database_url, CHECK_EXECUTOR="celery",
                              CELERY_BROKER_URL=broker_url, CELERY_QUEUE=queue)


@pytest.fixture
def app_on_redis(database_url: str, redis_url: str, queue: str) -> Iterator[Flask]:
    yield from celery_app(database_url, redis_url, queue)


@pytest.fixture
def app_broker_down(database_url: str, queue: str) -> Iterator[Flask]:
    """The web process's broker is a closed loopback port (the shared Redis stays up)."""
    yield from celery_app(database_url, f"redis://127.0.0.1:{free_port()}/0", queue)


@pytest.fixture
def worker(database_url: str, redis_url: str, queue: str, tmp_path: Path) -> Iterator[Path]:
    """`celery worker --pool threads --beat` on the real Redis; its log's path. Always killed:
    TERM then KILL at teardown, and TERM if pytest itself dies (setpriv --pdeathsig)."""
    environ = served_environment(database_url, tmp_path)
    environ.update(CELERY_BROKER_URL=redis_url, CELERY_QUEUE=queue, CHECK_TIMEOUT_SECONDS="5")
    command = [
        str(BIN / "celery"), "-A", "webapp.celery_app", "worker", "--pool", "threads",
        "--concurrency", "4", "--beat", "--schedule", str(tmp_path / "beat-schedule"),
        "--hostname", f"{queue}@%h", "--without-gossip", "--without-mingle",
        "--without-heartbeat", "--loglevel", "INFO",
    ]
    log = tmp_path / "worker.log"
    with running(command, ROOT, environ, log):
        yield log


def wait_for_status(registry_id: uuid.UUID, status: str, log: Path) -> Registry:
    deadline = time.monotonic() + WORKER_TIMEOUT
    while (registry := fresh(registry_id)).status != status:
        assert time.monotonic() < deadline, f"no {status} check; worker log:\n{log.read_text()}"
        time.sleep(0.2)
    return registry


def test_a_worker_runs_a_requested_check_end_to_end(app_on_redis, htpasswd_registry, worker):
    registry_id = good_registry(htpasswd_registry)
    assert checks.request_check(registry_id, "manual") is True
    assert fresh(registry_id).status == "checking"

    registry = wait_for_status(registry_id, "connected", worker)
    assert registry.lease_until is None and registry.check_requested_at is None
    # The published task ran it: the sweep cannot claim it while the request holds the lease.
    assert [c.trigger for c in check_rows(registry_id)] == ["manual"]


def test_with_the_broker_down_a_request_succeeds_and_the_sweep_runs_it(
    app_broker_down, htpasswd_registry, worker, caplog
):
    registry_id = good_registry(htpasswd_registry)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="webapp.jobs"):
        assert checks.request_check(registry_id, "manual") is True
    assert time.monotonic() - started < 3  # fails fast: no retrying against a dead broker
    assert "could not publish the check" in caplog.text
    registry = fresh(registry_id)
    assert registry.status == "checking" and registry.check_requested_at is not None
    assert registry.lease_until is None  # released: the next sweep may take it at once

    # Beat's sweep, on the worker that still reaches Redis, finds the request and runs it, as
    # the check that was asked for.
    wait_for_status(registry_id, "connected", worker)
    assert [c.trigger for c in check_rows(registry_id)] == ["manual"]


# --- the deployment as the README documents it ------------------------------------------------

README_WORKER = ["worker", "--pool", "threads", "--concurrency", "32"]  # README.md, "Celery"


@pytest.fixture
def documented_worker(database_url: str, redis_url: str, queue: str, tmp_path: Path):
    """The README's worker command, as an operator runs it: the installed console script, from a
    directory that is not the repository, in a fresh environment with no PYTHONPATH."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    environ = fresh_environment(
        elsewhere, APP_ENV="development", DATABASE_URL=database_url,
        SECRET_KEY=SUBPROCESS_SECRET_KEY, CREDENTIAL_KEYS=TEST_KEYS, CELERY_BROKER_URL=redis_url,
        CELERY_QUEUE=queue, OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32", CHECK_TIMEOUT_SECONDS="5",
    )
    log = tmp_path / "documented-worker.log"
    command = [str(BIN / "celery"), "-A", "webapp.celery_app", *README_WORKER]
    with running(command, elsewhere, environ, log):
        yield log


def test_the_documented_worker_runs_from_any_directory_a_check_a_web_request_queued(
    app_on_redis, database_url, redis_url, queue, htpasswd_registry, documented_worker
):
    registry_id = good_registry(htpasswd_registry)
    accounts.create_user("admin@acme.test", PASSWORD, org=accounts.find_org("acme"), role="admin")
    db.session.commit()
    # The web process: an app of its own (this test holds app_on_redis's context open).
    web = make_app(make_config(database_url, CHECK_EXECUTOR="celery", CELERY_BROKER_URL=redis_url,
                               CELERY_QUEUE=queue))
    web.test_client_class = Client
    admin = signed_in(web, "admin@acme.test")
    base = "/orgs/acme/settings/infrastructure/container-registry"
    response = admin.post_form(f"{base}/{registry_id}/check", token_from=f"{base}/")
    assert response.status_code == 302
    assert fresh(registry_id).status == "checking"  # queued on Redis, not run by the web

    registry = wait_for_status(registry_id, "connected", documented_worker)
    [check] = check_rows(registry_id)
    assert check.trigger == "manual" and check.requested_by_id is not None
    assert "ModuleNotFoundError" not in documented_worker.read_text()
    assert registry.lease_until is None
    with web.app_context():
        db.engine.dispose()


# --- Check pull of a private tool, as a task ------------------------------------------------


def queued_tool(htpasswd_registry) -> PrivateTool:
    good_registry(htpasswd_registry, status="connected")
    tool = PrivateTool(org_id=accounts.find_org("acme").id, name="Tool", name_key="tool",
                       image=f"{htpasswd_registry.host_port}/nowhere/tool:v1")
    db.session.add(tool)
    db.session.commit()
    return tool


def wait_for_pull(tool_id: int, log: Path) -> PrivateTool:
    deadline = time.monotonic() + WORKER_TIMEOUT
    while True:
        db.session.rollback()
        tool = db.session.get(PrivateTool, tool_id, populate_existing=True)
        if tool.pull_status is not None:
            return tool
        assert time.monotonic() < deadline, f"no pull check; worker log:\n{log.read_text()}"
        time.sleep(0.2)


def test_a_worker_runs_a_requested_pull_check(app_on_redis, htpasswd_registry, worker):
    tool = queued_tool(htpasswd_registry)
    assert pull_checks.request(tool, None) == []  # published: nothing runs in this process
    done = wait_for_pull(tool.id, worker)
    assert done.pull_status == "not_found"
    assert (done.pull_requested_at, done.pull_lease_until) == (None, None)


def test_with_the_broker_down_a_pull_check_waits_for_the_sweep(app_broker_down, htpasswd_registry,
                                                              worker, caplog):
    tool = queued_tool(htpasswd_registry)
    with caplog.at_level(logging.WARNING, logger="webapp.jobs"):
        pull_checks.request(tool, None)
    assert "could not publish the pull check" in caplog.text
    db.session.rollback()
    waiting = db.session.get(PrivateTool, tool.id, populate_existing=True)
    assert waiting.pull_requested_at is not None and waiting.pull_lease_until is None
    assert wait_for_pull(tool.id, worker).pull_status == "not_found"  # beat's sweep ran it
