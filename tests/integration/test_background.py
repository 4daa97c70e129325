"""Checks in the background: the thread pool, leases, the sweep, the scheduler and the CLI.

Real traffic on loopback only: the real docker-registry answers; the trickle server (one byte a
second) and a socket that accepts and never answers hang until the check's deadline.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import click
import pytest
from flask import Flask
from flask.cli import FlaskGroup, run_command, shell_command
from sqlalchemy import create_engine, select, update

from tests.support.apps import TEST_KEYS, make_app, make_config
from tests.support.registries import free_port, stop_process
from tests.support.shell import BIN, ROOT, fresh_environment
from webapp import jobs
from webapp.database import writing
from webapp.extensions import db
from webapp.models import AuditEvent, ConnectivityCheck, Registry, utcnow
from webapp.services import accounts, check_executor, checks, credentials, sweep

TIMEOUT = 3.0  # CHECK_TIMEOUT_SECONDS in these tests (fixed overheads are ~1 s on a busy CI)
SUBPROCESS_SECRET_KEY = "test-secret-key"  # make_config's: sessions and signed tokens agree


def background_app(database_url: str, **settings: object) -> Iterator[Flask]:
    app = make_app(make_config(
        database_url, OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32", CHECK_TIMEOUT_SECONDS=TIMEOUT,
        **settings,
    ))
    with app.app_context():
        db.create_all()
        accounts.create_org("acme", "Acme", "enterprise")
        db.session.commit()
        try:
            yield app
        finally:
            executor = app.extensions.get("checks_executor")
            if isinstance(executor, jobs.ThreadExecutor):
                executor.shutdown()
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def threads_app(tmp_path: Path) -> Iterator[Flask]:
    yield from background_app(f"sqlite:///{tmp_path / 'background.db'}", CHECK_EXECUTOR="threads")


@pytest.fixture
def inline_app(tmp_path: Path) -> Iterator[Flask]:
    yield from background_app(f"sqlite:///{tmp_path / 'background.db'}")


@pytest.fixture
def both_backends_app(backend_url: str) -> Iterator[Flask]:
    """SQLite (a file) and PostgreSQL (TEST_DATABASE_URL), inline executor."""
    yield from background_app(backend_url)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """host:port of a socket that accepts connections (the kernel does) and never answers."""
    with socket.create_server(("127.0.0.1", 0), backlog=128) as server:
        yield f"127.0.0.1:{server.getsockname()[1]}"


def add_registry(host: str, *, secret: str = "s3cret-alice", ca_pem: str | None = None,
                 namespace: str = "", state: str = "active", **columns: object) -> uuid.UUID:
    org = accounts.find_org("acme")
    name = uuid.uuid4().hex[:12]
    columns.setdefault("status", "checking")
    registry = Registry(id=uuid.uuid4(), org_id=org.id, kind="docker_registry", name=name,
                        name_key=name, host=host, namespace=namespace, username="alice",
                        state=state, ca_certificate=ca_pem, **columns)
    credentials.store_secret(registry, secret)
    db.session.add(registry)
    db.session.commit()
    return registry.id


def good_registry(htpasswd_registry, namespace: str = "", **columns: object) -> uuid.UUID:
    return add_registry(htpasswd_registry.host_port, ca_pem=htpasswd_registry.ca_pem,
                        namespace=namespace, **columns)


def fresh(registry_id: uuid.UUID) -> Registry:
    db.session.rollback()  # a new read transaction: see what other threads committed
    return db.session.get(Registry, registry_id, populate_existing=True)


def set_all(**values: object) -> None:
    db.session.rollback()
    with writing():
        db.session.execute(update(Registry).values(**values))
        db.session.commit()


def check_rows(registry_id: uuid.UUID) -> list[ConnectivityCheck]:
    db.session.rollback()
    return list(db.session.scalars(
        select(ConnectivityCheck).where(ConnectivityCheck.registry_id == registry_id)
    ))


# --- the thread pool: hanging registries never delay the others -------------------------------


def test_twenty_hanging_registries_do_not_delay_twenty_answering_ones(
    threads_app, htpasswd_registry, misc_servers, silent_server
):
    answering = [good_registry(htpasswd_registry, f"team{i}") for i in range(20)]
    trickling = [add_registry(misc_servers.trickle_server.host_port, namespace=f"slow{i}",
                              ca_pem=misc_servers.trickle_server.ca_pem) for i in range(10)]
    silent = [add_registry(silent_server, namespace=f"silent{i}") for i in range(10)]
    hanging = trickling + silent
    assert threads_app.config["CHECK_CONCURRENCY"] == 32  # fewer threads than checks: a queue

    started = time.monotonic()
    report = sweep.run_due()
    assert report.claimed == 40
    while sum(fresh(r).status == "connected" for r in answering) < 20:
        assert time.monotonic() - started < 2 * TIMEOUT, "the answering registries waited"
        time.sleep(0.05)
    still_running = sum(fresh(r).lease_until is not None for r in hanging)
    outcomes = report.wait(timeout=4 * TIMEOUT)
    finished_after = time.monotonic() - started

    assert still_running == 20  # all 20 answering ones connected before any hanging one ended
    assert finished_after < 2 * TIMEOUT  # about one timeout for the whole sweep
    assert outcomes == Counter(connected=20, unreachable=20)
    assert all(fresh(r).status == "unreachable" for r in hanging)


def test_a_request_runs_off_the_caller_and_a_second_one_starts_nothing(
    threads_app, misc_servers
):
    registry_id = add_registry(misc_servers.trickle_server.host_port,
                               ca_pem=misc_servers.trickle_server.ca_pem)
    started = time.monotonic()
    assert checks.request_check(registry_id, "manual") is True
    assert time.monotonic() - started < TIMEOUT / 2  # the caller did not wait for the check
    assert fresh(registry_id).status == "checking"
    assert checks.request_check(registry_id, "manual") is False
    jobs.executor(threads_app).shutdown()  # waits for the running check
    assert [c.trigger for c in check_rows(registry_id)] == ["manual"]
    assert fresh(registry_id).lease_until is None


@pytest.fixture
def one_thread_app(tmp_path: Path) -> Iterator[Flask]:
    yield from background_app(f"sqlite:///{tmp_path / 'background.db'}",
                              CHECK_EXECUTOR="threads", CHECK_CONCURRENCY=1)


def test_a_registry_waiting_in_the_queue_is_queued_once(one_thread_app, htpasswd_registry,
                                                        silent_server):
    user = accounts.create_user("admin@acme.test", "correct horse battery")
    db.session.commit()
    blocker = add_registry(silent_server)
    waiting = good_registry(htpasswd_registry)
    executor = check_executor.current()
    executor.submit(blocker, "scheduled")  # holds the only thread for a timeout
    queued = executor.submit(waiting, "scheduled")
    assert executor.submit(waiting, "manual", user.id) is None  # joins the waiting job
    assert queued.result(timeout=4 * TIMEOUT) == "connected"
    [check] = check_rows(waiting)
    assert (check.trigger, check.requested_by_id) == ("manual", user.id)  # the newest hand-off


# --- request_check: the after-commit rule and who asked -------------------------------------


class SpyExecutor:
    """Reads the registry through another connection at hand-off time: was it committed?"""

    def __init__(self, database_url: str):
        self.engine = create_engine(database_url)
        self.seen: list[tuple] = []

    def submit(self, registry_id, trigger, requested_by_id=None, lease=None):
        with self.engine.connect() as connection:
            row = connection.execute(
                select(Registry.status, Registry.lease_until, Registry.check_requested_at)
                .where(Registry.id == registry_id)
            ).one()
        self.seen.append((trigger, requested_by_id, lease, *row))


def test_request_check_commits_before_handing_off(inline_app, htpasswd_registry):
    registry_id = good_registry(htpasswd_registry, status_reason="old")
    helper = accounts.create_user("help@platform.test", "correct horse battery", support=True)
    db.session.commit()
    spy = SpyExecutor(inline_app.config["SQLALCHEMY_DATABASE_URI"])
    inline_app.extensions["checks_executor"] = spy
    try:
        assert checks.request_check(registry_id, "support", helper.id) is True
    finally:
        spy.engine.dispose()
    [(trigger, by, lease, status, lease_until, requested_at)] = spy.seen
    assert (trigger, by, status) == ("support", helper.id, "checking")
    assert lease_until == lease and requested_at is not None
    with pytest.raises(ValueError, match="unknown check trigger"):
        checks.request_check(registry_id, "cron")


def test_a_requested_check_is_audited_as_the_person_who_asked(inline_app, htpasswd_registry):
    user = accounts.create_user("admin@acme.test", "correct horse battery",
                                org=accounts.find_org("acme"), role="admin")
    db.session.commit()
    registry_id = good_registry(htpasswd_registry)
    assert checks.request_check(registry_id, "manual", user.id) is True
    [check] = check_rows(registry_id)
    assert (check.trigger, check.requested_by_id, check.outcome) == ("manual", user.id, "connected")
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "registry.checked"))
    assert (event.actor_kind, event.actor_label) == ("user", "admin@acme.test")
    # What the check replaced, not the `checking` shown while it waited.
    assert (event.details["from"], event.details["to"]) == (None, "connected")
    assert checks.request_check(registry_id, "manual", user.id) is True
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "registry.checked").order_by(AuditEvent.id)
    ).all()
    assert events[-1].details["from"] == "connected"


# --- leases: the database is the queue ------------------------------------------------------


def test_a_crashed_workers_registry_is_checked_again_once_its_lease_expires(
    both_backends_app, htpasswd_registry
):
    registry_id = good_registry(htpasswd_registry)
    now = utcnow()
    assert checks.claim(registry_id, now)  # a worker claims it, then dies without recording
    lease_ends = now + checks.lease_length()

    assert sweep.run_due(now + timedelta(seconds=1)).claimed == 0
    assert sweep.run_due(lease_ends - timedelta(seconds=1)).claimed == 0
    assert check_rows(registry_id) == []

    report = sweep.run_due(lease_ends + timedelta(seconds=1))
    assert report.claimed == 1
    assert report.wait() == Counter(connected=1)
    assert [c.trigger for c in check_rows(registry_id)] == ["scheduled"]
    assert fresh(registry_id).lease_until is None


class CrashingExecutor:
    """Takes the job and never runs it: the worker died right after the claim."""

    def __init__(self) -> None:
        self.jobs: list[tuple] = []

    def submit(self, registry_id, trigger, requested_by_id=None, lease=None):
        self.jobs.append((registry_id, trigger, requested_by_id))


@pytest.mark.parametrize("trigger", ["manual", "support", "connect"])
def test_a_check_a_crash_interrupted_is_rerun_as_who_asked(both_backends_app, htpasswd_registry,
                                                           trigger):
    """Issue 12 item 6: the sweep re-runs it, audited as the requester with their trigger (it
    used to be audited as `system`, trigger `scheduled`, and a wizard's draft never went live)."""
    user = accounts.create_user("admin@acme.test", "correct horse battery",
                                org=accounts.find_org("acme"), role="admin")
    db.session.commit()
    state = "draft" if trigger == "connect" else "active"
    registry_id = good_registry(htpasswd_registry, state=state)
    both_backends_app.extensions["checks_executor"] = crashed = CrashingExecutor()
    assert checks.request_check(registry_id, trigger, user.id) is True
    assert crashed.jobs == [(registry_id, trigger, user.id)]
    del both_backends_app.extensions["checks_executor"]  # back to the inline executor

    report = sweep.run_due(utcnow() + checks.lease_length() + timedelta(seconds=1))
    assert report.claimed == 1 and report.wait() == Counter(connected=1)
    [check] = check_rows(registry_id)
    assert (check.trigger, check.requested_by_id) == (trigger, user.id)
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "registry.checked"))
    assert (event.actor_kind, event.actor_label) == ("user", "admin@acme.test")
    assert event.details["trigger"] == trigger
    registry = fresh(registry_id)
    assert (registry.check_trigger, registry.check_requested_by_id) == (None, None)
    assert registry.state == "active"  # a wizard's draft goes live as its check passed


def test_two_threads_claiming_one_registry_exactly_one_wins(both_backends_app, htpasswd_registry):
    registry_id = good_registry(htpasswd_registry)
    contenders = 8

    def contend(barrier: threading.Barrier, now: datetime) -> bool:
        with both_backends_app.app_context():
            barrier.wait()
            return checks.claim(registry_id, now)

    for _ in range(3):
        barrier = threading.Barrier(contenders)
        now = utcnow()
        with ThreadPoolExecutor(contenders) as pool:
            attempts = [pool.submit(contend, barrier, now) for _ in range(contenders)]
            wins = [attempt.result() for attempt in attempts]
        assert wins.count(True) == 1
        set_all(lease_until=None)


def test_two_sweeps_at_once_split_the_due_registries(both_backends_app, htpasswd_registry):
    due = {good_registry(htpasswd_registry, f"team{i}") for i in range(30)}
    sweepers = 4

    def claim(barrier: threading.Barrier, now: datetime) -> list[uuid.UUID]:
        with both_backends_app.app_context():
            barrier.wait()
            return [due.registry_id for due in sweep.claim_due(now, now + checks.lease_length())]

    barrier, now = threading.Barrier(sweepers), utcnow()
    with ThreadPoolExecutor(sweepers) as pool:
        shares = [share.result() for share in [pool.submit(claim, barrier, now)
                                               for _ in range(sweepers)]]
    claimed = [registry_id for share in shares for registry_id in share]
    assert sorted(claimed) == sorted(due)  # every one claimed, none twice


def test_a_job_overtaken_by_another_worker_does_not_run(inline_app, htpasswd_registry):
    registry_id = good_registry(htpasswd_registry)
    queued_with = utcnow() - 3 * checks.lease_length()  # claimed long ago, waited in a queue
    set_all(lease_until=queued_with)
    assert checks.claim(registry_id)  # another worker took the expired lease over
    assert checks.check_registry(registry_id, "scheduled", lease=queued_with) is None
    assert check_rows(registry_id) == []


def test_what_a_sweep_claims(both_backends_app, htpasswd_registry):
    now = utcnow()
    hour = timedelta(hours=1)
    ids = {
        "overdue": good_registry(htpasswd_registry, "a", next_check_at=now - hour),
        "never checked": good_registry(htpasswd_registry, "b"),
        "later": good_registry(htpasswd_registry, "c", next_check_at=now + hour),
        "draft": good_registry(htpasswd_registry, "d", state="draft"),
        "requested draft": good_registry(htpasswd_registry, "e", state="draft",
                                         check_requested_at=now, next_check_at=now + hour),
        "removed": good_registry(htpasswd_registry, "f", state="removed",
                                 check_requested_at=now),
        "leased": good_registry(htpasswd_registry, "g", lease_until=now + hour),
        "lease expired": good_registry(htpasswd_registry, "h", lease_until=now - hour,
                                       next_check_at=now - 2 * hour),
    }
    claimed = sweep.claim_due(now, now + checks.lease_length())
    names = {registry_id: name for name, registry_id in ids.items()}
    assert [names[due.registry_id] for due in claimed] == [
        "requested draft", "never checked", "lease expired", "overdue"
    ]


# --- the sweep's housekeeping ---------------------------------------------------------------


def test_the_sweep_marks_a_known_expiry_without_a_request(inline_app, htpasswd_registry):
    now = utcnow()
    registry_id = good_registry(htpasswd_registry, status="connected",
                                expires_at=now - timedelta(minutes=1),
                                next_check_at=now + timedelta(hours=1))
    report = sweep.run_due()
    assert (report.expired, report.claimed) == (1, 0)
    registry = fresh(registry_id)
    assert registry.status == "expired"
    assert registry.status_reason.startswith("The credentials expired on")
    assert check_rows(registry_id) == []  # nothing was asked of the registry
    [event] = db.session.scalars(select(AuditEvent))
    assert (event.action, event.actor_kind) == ("registry.status_changed", "system")
    assert (event.details["from"], event.details["to"]) == ("connected", "expired")
    assert sweep.run_due().expired == 0


def test_the_sweep_deletes_drafts_left_for_more_than_a_day(inline_app, htpasswd_registry):
    now = utcnow()
    later = {"next_check_at": now + timedelta(hours=1)}
    abandoned = good_registry(htpasswd_registry, "a", state="draft",
                              created_at=now - timedelta(hours=25))
    db.session.add(ConnectivityCheck(registry_id=abandoned, trigger="connect", outcome="error"))
    db.session.commit()
    recent = good_registry(htpasswd_registry, "b", state="draft",
                           created_at=now - timedelta(hours=23))
    old_active = good_registry(htpasswd_registry, "c", created_at=now - timedelta(days=3),
                               **later)
    assert sweep.run_due().drafts_deleted == 1
    assert fresh(abandoned) is None and check_rows(abandoned) == []
    assert fresh(recent) is not None and fresh(old_active) is not None
    [event] = db.session.scalars(select(AuditEvent))
    assert (event.action, event.actor_kind, event.target_id) == (
        "registry.draft_discarded", "system", str(abandoned)
    )


# --- the command line -----------------------------------------------------------------------


def test_cli_run_due_runs_a_sweep_and_prints_what_it_did(threads_app, htpasswd_registry,
                                                          silent_server):
    good_registry(htpasswd_registry, "a")
    good_registry(htpasswd_registry, "b")
    add_registry(silent_server)
    result = threads_app.test_cli_runner().invoke(args=["checks", "run-due"])
    assert result.exit_code == 0, result.output
    assert "claimed 3 due check(s)" in result.output
    assert "  connected: 2\n  unreachable: 1\n" in result.output


def test_cli_run_checks_one_registry_in_the_foreground(inline_app, htpasswd_registry):
    registry_id = good_registry(htpasswd_registry)
    result = inline_app.test_cli_runner().invoke(args=["checks", "run", str(registry_id)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{registry_id}: connected (HTTP 200, ")
    assert [c.trigger for c in check_rows(registry_id)] == ["manual"]


def test_cli_run_errors_are_clear(inline_app, htpasswd_registry):
    runner = inline_app.test_cli_runner()
    leased = good_registry(htpasswd_registry, lease_until=utcnow() + timedelta(hours=1))
    removed = good_registry(htpasswd_registry, "x", state="removed")
    cases = [
        ("not-an-id", 2, "'not-an-id' is not a valid UUID"),
        (str(uuid.uuid4()), 1, "there is no registry with the id"),
        (str(removed), 1, "there is no registry with the id"),
        (str(leased), 1, "a check of this registry is running now"),
    ]
    for argument, exit_code, message in cases:
        result = runner.invoke(args=["checks", "run", argument])
        assert (result.exit_code, message in result.output) == (exit_code, True), result.output
        assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output


# --- the scheduler: only where the app is served --------------------------------------------


def test_create_app_and_the_executor_start_no_thread(tmp_path):
    before = set(threading.enumerate())
    app = make_app(make_config(f"sqlite:///{tmp_path / 'app.db'}", CHECK_EXECUTOR="threads"))
    executor = jobs.executor(app)
    assert isinstance(executor, jobs.ThreadExecutor)
    assert set(threading.enumerate()) - before == set()  # none new (an old one may end)
    assert jobs.start_scheduler(app) is None  # a test app never sweeps on its own
    assert set(threading.enumerate()) - before == set()


@pytest.fixture
def served_app(tmp_path) -> Flask:
    """An app as gunicorn would load it (not TESTING), threads executor."""
    return make_app(make_config(f"sqlite:///{tmp_path / 'app.db'}", TESTING=False,
                                CHECK_EXECUTOR="threads"))


@pytest.mark.parametrize(
    "command, params, environ, wanted",
    [
        (None, {}, {}, True),  # gunicorn: no click context
        ("group", {}, {}, False),  # flask db upgrade, flask routes, …: loaded by the group
        ("shell", {}, {}, False),
        ("run", {"reload": False}, {}, True),
        ("run", {"reload": None}, {}, True),
        ("run", {"reload": True}, {}, False),  # the reloader's parent only watches files
        ("run", {"reload": True}, {"WERKZEUG_RUN_MAIN": "true"}, True),  # its child serves
        ("run", {"reload": None}, {"FLASK_DEBUG": "1"}, False),  # --debug turns reloading on
    ],
)
def test_who_runs_the_scheduler(served_app, monkeypatch, command, params, environ, wanted):
    for name in ("WERKZEUG_RUN_MAIN", "FLASK_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    commands = {"group": FlaskGroup(name="flask"), "shell": shell_command, "run": run_command}
    if command is None:
        assert jobs.scheduler_wanted(served_app) is wanted
        return
    with click.Context(commands[command], info_name=command) as context:
        context.params.update(params)
        assert jobs.scheduler_wanted(served_app) is wanted


def test_no_scheduler_with_celery_or_in_tests(served_app, tmp_path):
    served_app.config.update(CELERY_BROKER_URL="redis://127.0.0.1:1/0", CHECK_EXECUTOR=None)
    assert jobs.scheduler_wanted(served_app) is False
    testing = make_app(make_config(f"sqlite:///{tmp_path / 'other.db'}",
                                   CHECK_EXECUTOR="threads"))
    assert jobs.scheduler_wanted(testing) is False


def test_an_unknown_executor_is_a_configuration_error(served_app):
    from config import ConfigError

    served_app.config["CHECK_EXECUTOR"] = "processes"
    with pytest.raises(ConfigError, match="CHECK_EXECUTOR must be one of"):
        jobs.executor(served_app)
    served_app.config.update(CHECK_EXECUTOR="celery", CELERY_BROKER_URL=None)
    with pytest.raises(ConfigError, match="needs CELERY_BROKER_URL"):
        jobs.executor(served_app)


def served_environment(database_url: str, home: Path) -> dict[str, str]:
    """The environment of a process that serves the app from wsgi.py, as `make run` would, in
    a fresh shell (`home` its home and scratch instance folder).

    No PYTHONPATH: config.py and wsgi.py are importable because they are installed."""
    return fresh_environment(
        home, APP_ENV="development", DATABASE_URL=database_url, SECRET_KEY=SUBPROCESS_SECRET_KEY,
        CREDENTIAL_KEYS=TEST_KEYS, OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32",
        CHECK_SWEEP_SECONDS="1",
    )


PRINT_THREADS = "import threading; print('threads:', sorted(t.name for t in threading.enumerate()))"


def thread_names(output: str) -> str:
    [line] = [line for line in output.splitlines() if "threads: [" in line]
    return line


def test_flask_cli_commands_start_no_scheduler_but_importing_wsgi_does(inline_app, tmp_path):
    environ = served_environment(inline_app.config["SQLALCHEMY_DATABASE_URI"], tmp_path)
    shell = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "shell"], input=PRINT_THREADS,
                           capture_output=True, text=True, cwd=ROOT, env=environ, timeout=60)
    assert "MainThread" in thread_names(shell.stdout)
    assert jobs.SCHEDULER_THREAD_NAME not in thread_names(shell.stdout)

    run_due = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "checks", "run-due"],
                             capture_output=True, text=True, cwd=ROOT, env=environ, timeout=60)
    assert run_due.returncode == 0, run_due.stderr
    assert "claimed 0 due check(s)" in run_due.stdout

    served = subprocess.run([sys.executable, "-c", "import wsgi; " + PRINT_THREADS],
                            capture_output=True, text=True, cwd=ROOT, env=environ, timeout=60)
    assert jobs.SCHEDULER_THREAD_NAME in thread_names(served.stdout)


@pytest.mark.parametrize("server", ["flask run", "gunicorn"])
def test_a_served_app_sweeps_on_its_own(inline_app, htpasswd_registry, server, tmp_path):
    registry_id = good_registry(htpasswd_registry)  # due: never checked
    port = free_port()
    command = {
        "flask run": [str(BIN / "flask"), "--app", "wsgi", "run", "--port", str(port)],
        "gunicorn": [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1",
                     "wsgi:app"],
    }[server]
    environ = served_environment(inline_app.config["SQLALCHEMY_DATABASE_URI"], tmp_path)
    with subprocess.Popen(command, cwd=ROOT, env=environ, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True) as process:
        try:
            deadline = time.monotonic() + 20
            while fresh(registry_id).status != "connected":
                assert process.poll() is None, process.stderr.read()
                assert time.monotonic() < deadline, "the scheduler did not check the registry"
                time.sleep(0.2)
        finally:
            stop_process(process)
    [check] = check_rows(registry_id)
    assert check.trigger == "scheduled"
