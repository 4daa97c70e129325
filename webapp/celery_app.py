"""Celery: the check as a task on workers, and beat running the sweep.

    celery -A webapp.celery_app worker --pool threads --concurrency 32
    celery -A webapp.celery_app beat

A check is network I/O, so workers use threads. Tasks take ids and run inside an app context,
the same jobs the thread pool runs (`checks.run`, and `pull_checks.run` for a private tool's
pull check); the lease travels as the task's last argument, so a task that waited past it
cannot run beside the worker that took over.

`celery -A webapp.celery_app` looks for an attribute `app`, then `celery`: `celery` is built on
first access (module `__getattr__`), with `create_app()` from the environment. Importing this
module, as the web process does to publish, builds no second Flask app.
"""

from __future__ import annotations

from datetime import datetime

from celery import Celery, Task
from flask import Flask

from .services import checks, pull_checks, sweep

CHECK_TASK = "webapp.check_registry"
PULL_CHECK_TASK = "webapp.check_pull"
SWEEP_TASK = "webapp.sweep"


def make_celery(app: Flask) -> Celery:
    """A Celery app configured from this Flask app, kept in `app.extensions["celery"]`."""

    class AppContextTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=AppContextTask, set_as_current=False)
    celery.conf.update(
        broker_url=app.config["CELERY_BROKER_URL"],
        task_default_queue=app.config["CELERY_QUEUE"],
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        # A web request publishing while the broker is down must fail fast, not retry for ever:
        # the sweep runs the check later.
        broker_transport_options={"max_retries": 0, "socket_connect_timeout": 2},
        # Checks last seconds; a worker should not hoard a queue other workers could run.
        worker_prefetch_multiplier=1,
        beat_schedule={
            "sweep": {"task": SWEEP_TASK, "schedule": float(app.config["CHECK_SWEEP_SECONDS"])}
        },
    )
    celery.task(name=CHECK_TASK)(_check)
    celery.task(name=PULL_CHECK_TASK)(_check_pull)
    celery.task(name=SWEEP_TASK)(_sweep)
    app.extensions["celery"] = celery
    return celery


def _check(
    registry_id: str, trigger: str, requested_by_id: int | None, lease: str | None
) -> str | None:
    held = datetime.fromisoformat(lease) if lease else None
    return checks.run(registry_id, trigger, requested_by_id, held)


def _check_pull(org_id: int, tool_id: int, lease: str) -> int:
    return pull_checks.run(org_id, tool_id, datetime.fromisoformat(lease))


def _sweep() -> dict[str, int]:
    report = sweep.run_due()
    return {
        "expired": report.expired,
        "drafts_deleted": report.drafts_deleted,
        "claimed": report.claimed,
    }


def __getattr__(name: str) -> Celery:
    if name != "celery":
        raise AttributeError(name)
    from . import create_app

    celery = make_celery(create_app())
    globals()["celery"] = celery
    return celery
