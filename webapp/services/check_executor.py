"""Where checks run, as the services see it: an interface, and the app's one executor.

The services decide *what* runs (a registry's check, a tool's pull check) and hand it over
only after their commit; `webapp.jobs` decides *where* (inline, a thread pool, Celery) and sets
its executor on the app with `jobs.init_app`. So the services never import the job runner, and
the job runner imports the services it runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import Protocol

from flask import Flask, current_app

#: Where `install` keeps the app's provider of its executor.
EXTENSION = "check_executor_provider"


class CheckExecutor(Protocol):
    def submit(
        self,
        registry_id: uuid.UUID,
        trigger: str,
        requested_by_id: int | None = None,
        lease: datetime | None = None,
    ) -> Future[str | None] | None:
        """Run one check: a future of its outcome (None: another worker had it) when it runs in
        this process; None when it went to another process, or joined a check of the same
        registry already waiting here. Never raises for a failed hand-off."""
        ...

    def submit_pull(self, org_id: int, tool_id: int, lease: datetime) -> Future[int] | None:
        """Run the pull check of a tool claimed with `lease` (then the org's next queued ones):
        a future of how many it checked, or None when it went to another process. Never raises
        for a failed hand-off."""
        ...


def install(app: Flask, provider: Callable[[Flask], CheckExecutor]) -> None:
    """Say how `app` gets its executor (`jobs.init_app` does): called on every hand-off, so an
    executor can be made on first use."""
    app.extensions[EXTENSION] = provider


def current() -> CheckExecutor:
    """The current app's executor."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return app.extensions[EXTENSION](app)
