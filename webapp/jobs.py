"""Where checks run, and the scheduler thread that sweeps.

Executors (`CHECK_EXECUTOR`): `inline` runs the check before `submit` returns (tests, so they
are deterministic); `threads` runs it on a bounded pool in this process (`CHECK_CONCURRENCY`),
the embedded default; `celery` publishes it to workers (the default when `CELERY_BROKER_URL` is
set). Each implements the services' interface (`services.check_executor.CheckExecutor`), and
`init_app` makes this module the app's provider of one. Every job takes ids, never ORM objects,
and opens its own app context, so its session and connection are its own (the Flask Celery
pattern). Two kinds of job: a registry's connectivity check (`submit`, running `checks.run`) and
a private tool's pull check (`submit_pull`, running `pull_checks.run`).

`create_app` starts nothing. `wsgi.py` calls `start_scheduler`, which starts one daemon thread
per process only where the app is served: gunicorn or `flask run`, never another `flask`
command, the tests or a process whose checks run on Celery (beat sweeps there).
"""

from __future__ import annotations

import logging
import os
import random
import threading
import uuid
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

import click
from flask import Flask
from flask.helpers import get_debug_flag
from werkzeug.serving import is_running_from_reloader

from config import ConfigError

from .extensions import db
from .services import check_executor, checks, pull_checks, sweep
from .services.check_executor import CheckExecutor

log = logging.getLogger(__name__)

EXECUTORS = ("inline", "threads", "celery")
SCHEDULER_THREAD_NAME = "check-scheduler"


def executor_kind(config: Mapping[str, Any]) -> str:
    kind = config.get("CHECK_EXECUTOR") or (
        "celery" if config.get("CELERY_BROKER_URL") else "threads"
    )
    if kind not in EXECUTORS:
        raise ConfigError(f"CHECK_EXECUTOR must be one of {', '.join(EXECUTORS)}")
    if kind == "celery" and not config.get("CELERY_BROKER_URL"):
        raise ConfigError("CHECK_EXECUTOR=celery needs CELERY_BROKER_URL")
    return kind


def run_job(
    app: Flask,
    registry_id: uuid.UUID,
    trigger: str,
    requested_by_id: int | None,
    lease: datetime | None,
) -> str | None:
    """One check in its own app context: the outcome, or None when another worker had it (or
    its outcome was dropped, and it was handed over again)."""
    with app.app_context():
        return checks.run(registry_id, trigger, requested_by_id, lease)


def run_pull_job(app: Flask, org_id: int, tool_id: int, lease: datetime) -> int:
    """Pull checks of one org in their own app context, from the claimed tool on."""
    with app.app_context():
        return pull_checks.run(org_id, tool_id, lease)


class InlineExecutor:
    """Runs the check before returning; an error reaches the caller (tests want to see it)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def submit(
        self,
        registry_id: uuid.UUID,
        trigger: str,
        requested_by_id: int | None = None,
        lease: datetime | None = None,
    ) -> Future[str | None]:
        future: Future[str | None] = Future()
        future.set_result(run_job(self.app, registry_id, trigger, requested_by_id, lease))
        return future

    def submit_pull(self, org_id: int, tool_id: int, lease: datetime) -> Future[int]:
        future: Future[int] = Future()
        future.set_result(run_pull_job(self.app, org_id, tool_id, lease))
        return future


class ThreadExecutor:
    """A bounded pool in this process: at most `workers` checks at once, the rest queue. A
    hanging registry holds one thread for at most one check timeout, never the others.

    A registry queues once: handed over again while still waiting (a sweep re-claimed it after
    its lease ran out in the queue, or a person asked meanwhile), the waiting job takes the
    newest claim and trigger instead of a duplicate piling up behind a backlog.
    """

    def __init__(self, app: Flask, workers: int) -> None:
        self.app = app
        self.workers = workers
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._pool = self._new_pool()
        self._waiting: dict[uuid.UUID, tuple[str, int | None, datetime | None]] = {}

    def _new_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="check")

    def submit(
        self,
        registry_id: uuid.UUID,
        trigger: str,
        requested_by_id: int | None = None,
        lease: datetime | None = None,
    ) -> Future[str | None] | None:
        with self._lock:
            self._after_fork()
            queued = registry_id in self._waiting
            self._waiting[registry_id] = (trigger, requested_by_id, lease)
            return None if queued else self._pool.submit(self._run, registry_id)

    def submit_pull(self, org_id: int, tool_id: int, lease: datetime) -> Future[int]:
        # Nothing to de-duplicate: the lease is the tool's, a second job would not run it.
        with self._lock:
            self._after_fork()
            return self._pool.submit(self._run_pull, org_id, tool_id, lease)

    def _after_fork(self) -> None:
        if self._pid != os.getpid():  # forked (gunicorn --preload): the threads stayed behind
            self._pid, self._pool, self._waiting = os.getpid(), self._new_pool(), {}

    def _run(self, registry_id: uuid.UUID) -> str | None:
        with self._lock:
            trigger, requested_by_id, lease = self._waiting.pop(registry_id)
        try:
            return run_job(self.app, registry_id, trigger, requested_by_id, lease)
        except Exception:
            # Nobody may read the future: say it here. The lease expires; a sweep retries.
            log.exception("the check of registry %s failed", registry_id)
            raise

    def _run_pull(self, org_id: int, tool_id: int, lease: datetime) -> int:
        try:
            return run_pull_job(self.app, org_id, tool_id, lease)
        except Exception:
            log.exception("the pull checks of org %s failed", org_id)
            raise

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class CeleryExecutor:
    """Publishes the check to Celery workers. Best effort: when the broker is unreachable the
    claim is released and the sweep (beat, on any worker) runs the check later."""

    def __init__(self, app: Flask) -> None:
        from .celery_app import CHECK_TASK, PULL_CHECK_TASK, make_celery  # loaded when used

        self.celery = app.extensions.get("celery") or make_celery(app)
        self.task = self.celery.tasks[CHECK_TASK]
        self.pull_task = self.celery.tasks[PULL_CHECK_TASK]

    def submit(
        self,
        registry_id: uuid.UUID,
        trigger: str,
        requested_by_id: int | None = None,
        lease: datetime | None = None,
    ) -> None:
        try:
            self.task.apply_async(
                args=(str(registry_id), trigger, requested_by_id, lease and lease.isoformat()),
                retry=False,
            )
        except Exception:  # noqa: BLE001 - any broker failure; the sweep makes up for it
            log.warning(
                "could not publish the check of registry %s; the sweep will run it",
                registry_id,
                exc_info=True,
            )
            if lease is not None:
                checks.release(registry_id, lease)

    def submit_pull(self, org_id: int, tool_id: int, lease: datetime) -> None:
        try:
            self.pull_task.apply_async(args=(org_id, tool_id, lease.isoformat()), retry=False)
        except Exception:  # noqa: BLE001 - any broker failure; the sweep makes up for it
            log.warning(
                "could not publish the pull check of tool %s; the sweep will run it",
                tool_id,
                exc_info=True,
            )
            pull_checks.release(tool_id, lease)


_executor_lock = threading.Lock()


def executor(app: Flask) -> CheckExecutor:
    """The app's executor, made on first use (a pool starts its threads on its first job)."""
    with _executor_lock:
        current = app.extensions.get("checks_executor")
        if current is None:
            kind = executor_kind(app.config)
            if kind == "inline":
                current = InlineExecutor(app)
            elif kind == "threads":
                current = ThreadExecutor(app, app.config["CHECK_CONCURRENCY"])
            else:
                current = CeleryExecutor(app)
            app.extensions["checks_executor"] = current
        return current


def init_app(app: Flask) -> None:
    """Make `executor` the provider the services hand their jobs to. Starts nothing."""
    check_executor.install(app, executor)


class Scheduler:
    """Runs the sweep about every `interval` seconds in one daemon thread. The delay varies by a
    quarter either way, so a deployment's processes do not sweep in step; the first sweep comes
    soon after start, to pick up what was due while the app was down."""

    def __init__(self, app: Flask, interval: float) -> None:
        self.app = app
        self.interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=SCHEDULER_THREAD_NAME, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stopping.set()
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        delay = random.uniform(0, min(self.interval, 5.0))  # noqa: S311 - spreading load only
        while not self._stopping.wait(delay):
            self.sweep_once()
            delay = self.interval * random.uniform(0.75, 1.25)  # noqa: S311

    def sweep_once(self) -> None:
        try:
            with self.app.app_context():
                report = sweep.run_due()
        except Exception:
            log.exception("the sweep failed; the next one tries again")
            return
        log.info(
            "sweep: %d expired, %d drafts deleted, %d checks started",
            report.expired,
            report.drafts_deleted,
            report.claimed,
        )


def scheduler_wanted(app: Flask) -> bool:
    """Does this process serve the app, with checks running here?

    Not in tests, nor with Celery (beat sweeps). The `flask` command imports wsgi.py for every
    subcommand (.flaskenv sets FLASK_APP=wsgi), and it does so while a click context is current:
    only `run` serves, and with the reloader only its child process (the parent only watches
    files). No click context means a WSGI server such as gunicorn imported wsgi.py.
    """
    if app.testing or executor_kind(app.config) == "celery":
        return False
    context = click.get_current_context(silent=True)
    if context is None:
        return True
    if context.command.name != "run":
        return False
    reload = context.params.get("reload")
    if reload is None:
        reload = get_debug_flag()
    return not reload or is_running_from_reloader()


_scheduler: Scheduler | None = None
_scheduler_lock = threading.Lock()
_fork_hook = False  # registered once; a forked child inherits both the hook and this flag


def start_scheduler(app: Flask) -> Scheduler | None:
    """Start this process's scheduler if `scheduler_wanted`; at most one per process."""
    global _scheduler, _fork_hook
    if not scheduler_wanted(app):
        return None
    with _scheduler_lock:
        if _scheduler is None:
            _scheduler = Scheduler(app, app.config["CHECK_SWEEP_SECONDS"])
            _scheduler.start()
        if not _fork_hook:
            os.register_at_fork(after_in_child=_restart_in_child)
            _fork_hook = True
        return _scheduler


def _restart_in_child() -> None:
    """A forked child (gunicorn --preload) has none of its parent's threads: start its own
    scheduler, and drop the pooled connections it shares with the parent."""
    global _scheduler, _scheduler_lock
    parent, _scheduler, _scheduler_lock = _scheduler, None, threading.Lock()
    if parent is not None:
        with parent.app.app_context():
            db.engine.dispose(close=False)
        start_scheduler(parent.app)
