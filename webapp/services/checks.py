"""Running one connectivity check of one registry, and storing what it found.

A check is a function of a registry id. The database is the queue: a check is claimed with one
atomic update that sets `lease_until`, so two workers never check the same registry at once and a
crashed worker's claim simply expires. Check results are written with Core updates that leave
the registry's version alone: a background check must not make an admin's open edit form stale.

`request_check` is how a person asks for a check (Connect, Check now, support's Check now): it
claims, commits, then hands the id to the app's executor (`check_executor`). The sweep
(`services/sweep.py`) claims due checks the same way; the claim's `lease_until` travels with the
job as its token, so a job that waited in a queue past its lease cannot run beside the worker
that took the registry over. `run` is the job every executor runs.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, delete, or_, select, update

from ..database import writing
from ..extensions import db
from ..models import CHECK_TRIGGERS, ConnectivityCheck, Registry, utcnow
from ..registry_client import providers, statuses
from ..registry_client.address import parse_registry_url
from ..registry_client.check import CheckResult, CheckTarget, run_check
from ..registry_client.client_settings import ClientSettings
from ..registry_client.statuses import Status
from . import audit, check_executor, credentials, registries
from .vault import CredentialsUnreadable

log = logging.getLogger(__name__)

HISTORY_LIMIT = 50
MAX_BACKOFF = timedelta(hours=1)
# What counts as working and as failing is defined once, beside the statuses.
FAILING, HEALTHY = statuses.FAILING, statuses.HEALTHY
# Checks a person asked for are audited whatever they find; scheduled ones only on a change.
PERSON_TRIGGERS = frozenset({"connect", "manual", "support"})


def client_settings() -> ClientSettings:
    return current_app.extensions["registry_client_settings"]


def lease_length() -> timedelta:
    return timedelta(seconds=2 * client_settings().deadline_seconds)


def target_for(registry: Registry, secret: str) -> CheckTarget:
    address = None
    if providers.get(registry.kind).fixed_host is None:  # the address the admin typed
        url = f"{registry.scheme}://{registry.host}"
        if registry.namespace:
            url += "/" + registry.namespace
        address = parse_registry_url(url, allow_insecure=registry.scheme == "http")
    return CheckTarget(
        kind=registry.kind,
        address=address,
        username=registry.username,
        secret=secret,
        ca_pem=registry.ca_certificate,
        test_image=registry.test_image,
        previous_expiry=registry.expires_at,
    )


class UnknownRegistry(LookupError):
    """No registry with this id (or only its tombstone)."""


class CheckInProgress(RuntimeError):
    """Another worker holds this registry's lease."""


def lease_free(now: datetime) -> ColumnElement[bool]:
    """No worker holds the lease: never taken, released, or expired (its worker died)."""
    return or_(Registry.lease_until.is_(None), Registry.lease_until < now)


def claim(
    registry_id: uuid.UUID, now: datetime | None = None, held: datetime | None = None
) -> bool:
    """Take the lease on a registry's check; False if another worker holds it.

    `held` is the `lease_until` that `request_check` or a sweep claimed for this job: the job goes
    ahead only while that is still the registry's lease (a job that waited in a queue past it may
    have been overtaken by another worker), and renews it for the length of one check.
    """
    now = now or utcnow()
    ours = lease_free(now) if held is None else Registry.lease_until == held
    db.session.commit()  # the claim must begin its own (write) transaction
    with writing():
        claimed = db.session.execute(
            update(Registry)
            .where(Registry.id == registry_id, Registry.state != "removed", ours)
            .values(lease_until=now + lease_length(), check_stage="reaching")
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
    return claimed == 1


def release(registry_id: uuid.UUID, held: datetime) -> None:
    """Give back a claim no worker will run (the broker was down): the next sweep takes it."""
    with writing():
        db.session.execute(
            update(Registry)
            .where(Registry.id == registry_id, Registry.lease_until == held)
            .values(lease_until=None)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def request_check(
    registry_id: uuid.UUID | str, trigger: str, requested_by_id: int | None = None
) -> bool:
    """Check a registry soon, off the request. False, and nothing started, while a check of it
    is already queued or running.

    Marks the registry due and `checking` and claims it, COMMITS, and only then hands it to the
    executor: a worker must never look for a row that is not committed yet. If the hand-off
    fails, `check_requested_at` stays set and the sweep runs the check later, with the trigger
    and the requester stored beside it.
    """
    if trigger not in CHECK_TRIGGERS:
        raise ValueError(f"unknown check trigger {trigger!r}")
    registry_id = uuid.UUID(str(registry_id))
    now = utcnow()
    lease = now + lease_length()
    db.session.commit()  # the caller's changes first; the claim is a write transaction of its own
    with writing():
        claimed = db.session.execute(
            update(Registry)
            .where(Registry.id == registry_id, Registry.state != "removed", lease_free(now))
            .values(
                check_requested_at=now,
                check_trigger=trigger,
                check_requested_by_id=requested_by_id,
                next_check_at=now,
                status=str(Status.CHECKING),
                lease_until=lease,
                check_stage="reaching",
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
    if claimed != 1:
        return False
    check_executor.current().submit(registry_id, trigger, requested_by_id, lease=lease)
    return True


@dataclass(frozen=True)
class RunAgain:
    """A check whose outcome was dropped (the registry's settings changed while it ran): it must
    run again, as the same trigger and requester. Handed over by whoever ran the job, after the
    write that dropped it committed."""

    registry_id: uuid.UUID
    trigger: str
    requested_by_id: int | None


def run(
    registry_id: uuid.UUID | str,
    trigger: str,
    requested_by_id: int | None = None,
    lease: datetime | None = None,
) -> str | None:
    """The job every executor runs (inside an app context): check one registry and store the
    outcome. Returns the outcome, or None when another worker had the registry or the outcome
    was dropped; a dropped one is handed to the executor again once its write has committed."""
    done = check_registry(registry_id, trigger, requested_by_id, lease=lease)
    if isinstance(done, RunAgain):
        check_executor.current().submit(done.registry_id, done.trigger, done.requested_by_id)
        return None
    return done.outcome if done is not None else None


def check_now(registry_id: uuid.UUID, trigger: str = "manual") -> ConnectivityCheck:
    """One check in the foreground (`flask checks run`), whatever the executor."""
    registry = db.session.get(Registry, registry_id)
    if registry is None or registry.state == "removed":
        raise UnknownRegistry(str(registry_id))
    done = check_registry(registry_id, trigger)
    if isinstance(done, RunAgain):
        # Edited while we checked it: it runs again on the executor, like any other job.
        check_executor.current().submit(done.registry_id, done.trigger, done.requested_by_id)
    if not isinstance(done, ConnectivityCheck):
        raise CheckInProgress(str(registry_id))
    return done


def _set_stage(registry_id: uuid.UUID, stage: str) -> None:
    with writing():
        db.session.execute(
            update(Registry)
            .where(Registry.id == registry_id)
            .values(check_stage=stage)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def _unreadable() -> CheckResult:
    return CheckResult(
        status=Status.UNREADABLE,
        reason="The stored credentials cannot be decrypted with the current keys.",
        http_status=None,
        realm_host=None,
        expires_at=None,
        duration_ms=0,
        retry_after=None,
        stage="signing_in",
    )


def next_check_at(
    result: CheckResult, failures: int, now: datetime, interval_seconds: int
) -> datetime:
    """When to look again: the interval with jitter, later after repeated failures or a 429."""
    interval = timedelta(seconds=interval_seconds)
    if result.status is Status.RATE_LIMITED and result.retry_after:
        delay = max(timedelta(seconds=result.retry_after), interval)
    elif result.status in FAILING and failures > 1:
        delay = min(interval * (2 ** min(failures - 1, 6)), max(MAX_BACKOFF, interval))
    else:
        delay = interval
    jitter = random.uniform(0, 0.1) * delay.total_seconds()  # noqa: S311 - spreading load only
    return now + delay + timedelta(seconds=jitter)


def check_registry(
    registry_id: uuid.UUID | str,
    trigger: str = "manual",
    requested_by_id: int | None = None,
    lease: datetime | None = None,
) -> ConnectivityCheck | RunAgain | None:
    """Claim, check and store one registry's outcome (see `store_result`). None when another
    worker holds the lease or the registry is gone. `lease` is the claim this job was handed
    with (see `claim`). The secret is decrypted right before use and dropped right after."""
    registry_id = uuid.UUID(str(registry_id))
    started = utcnow()
    if not _owned(registry_id, started, lease):
        return None
    registry = db.session.get(Registry, registry_id)
    if registry is None or registry.state == "removed":
        return None
    checked_version = registry.version
    # Stages are for the person watching a check they asked for; a sweep's checks skip the writes.
    on_stage = (
        (lambda stage: _set_stage(registry_id, stage)) if trigger in PERSON_TRIGGERS else None
    )
    try:
        secret = credentials.read_secret(registry)
    except CredentialsUnreadable:
        result = _unreadable()
    else:
        target = target_for(registry, secret)
        del secret
        db.session.commit()  # end the read transaction before the network work
        result = run_check(target, client_settings(), on_stage)
        del target
    return store_result(registry_id, result, trigger, requested_by_id, started, checked_version)


def _owned(registry_id: uuid.UUID, started: datetime, lease: datetime | None) -> bool:
    """Whether this job may check the registry, writing only when it must.

    A job handed a lease with at least one and a half check timeouts left owns the registry as
    it is: nobody can claim it before the lease passes, and the watchdog ends the check well
    before. That saves a write per check, which on SQLite is what a sweep of many waits on.
    Without a lease, or with one mostly spent in a queue, it claims (renews) with one update.
    """
    if lease is not None and lease - started >= 0.75 * lease_length():
        return True
    return claim(registry_id, started, held=lease)


def store_result(
    registry_id: uuid.UUID,
    result: CheckResult,
    trigger: str,
    requested_by_id: int | None,
    started: datetime,
    checked_version: int | None = None,
) -> ConnectivityCheck | RunAgain | None:
    """Store a check's outcome and release the lease, in one write transaction: the new history
    row. None when the registry was deleted meanwhile (a discarded draft). `RunAgain` when its
    settings changed while it was being checked: the outcome belongs to settings it no longer
    has, so it is dropped, the registry shows `checking` again, and the caller hands it over
    again (this function starts nothing: it is a database write)."""
    now = utcnow()
    db.session.commit()
    with writing():
        registry = db.session.get(Registry, registry_id, populate_existing=True)
        if registry is None:
            db.session.rollback()
            return None
        version = registry.version if checked_version is None else checked_version
        previous = _previous_status(registry)
        failures = 0 if result.status in HEALTHY else (registry.consecutive_failures or 0) + 1
        values: dict[str, object] = {
            "status": str(result.status),
            "status_reason": result.reason[:500],
            "last_checked_at": now,
            "next_check_at": next_check_at(
                result, failures, now, current_app.config["CHECK_INTERVAL_SECONDS"]
            ),
            "lease_until": None,
            "check_stage": None,
            "check_requested_at": None,
            "check_trigger": None,
            "check_requested_by_id": None,
            "consecutive_failures": failures,
            "expires_at": result.expires_at,
        }
        if result.sign_in_scheme is not None:  # what it can hand out, as this check saw it
            values["sign_in_scheme"] = result.sign_in_scheme
            values["pull_token_seconds"] = (
                result.token_seconds if result.sign_in_scheme == "bearer" else None
            )
        if result.status in HEALTHY:
            values["last_success_at"] = now
        if previous in HEALTHY and result.status in FAILING:
            values["alert_dismissed_at"] = None
        written = db.session.execute(
            update(Registry)
            .where(Registry.id == registry_id, Registry.version == version)
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not written:  # edited while it was being checked
            db.session.rollback()
            _check_again(registry_id, now)
            return RunAgain(registry_id, trigger, requested_by_id)
        check = ConnectivityCheck(
            registry_id=registry_id,
            trigger=trigger,
            requested_by_id=requested_by_id,
            started_at=started,
            finished_at=now,
            outcome=str(result.status),
            http_status=result.http_status,
            reason=result.reason[:500],
            realm_host=result.realm_host,
            duration_ms=result.duration_ms,
        )
        db.session.add(check)
        if trigger in PERSON_TRIGGERS or previous != str(result.status):
            audit.record(
                "registry.checked" if trigger in PERSON_TRIGGERS else "registry.status_changed",
                org=registry.org_id,
                target=("registry", str(registry.id), registry.name),
                details={"trigger": trigger, "from": previous, "to": str(result.status)},
                # The person who asked, even when a worker ran the check.
                actor=audit.Actor.requested_by(requested_by_id),
            )
        if registry.state == "draft" and trigger == "connect" and result.status in HEALTHY:
            # The wizard's registry goes live once its check passed, as it was checked.
            registries.activate(registry, version, audit.Actor.requested_by(requested_by_id))
        db.session.flush()
        _trim_history(registry_id)
        db.session.commit()
    log.info("checked registry %s: %s", registry_id, result.status)
    return check


def _check_again(registry_id: uuid.UUID, now: datetime) -> None:
    with writing():
        db.session.execute(
            update(Registry)
            .where(Registry.id == registry_id)
            .values(
                lease_until=None,
                check_stage=None,
                check_requested_at=now,
                next_check_at=now,
                status=str(Status.CHECKING),
            )
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    log.info("registry %s changed during its check; checking it again", registry_id)


def _previous_status(registry: Registry) -> str | None:
    """The status before this check. A requested check shows `checking` while it waits; what it
    replaced is the last check's outcome (None for a registry never checked)."""
    if registry.status != Status.CHECKING:
        return registry.status
    return db.session.scalar(
        select(ConnectivityCheck.outcome)
        .where(ConnectivityCheck.registry_id == registry.id)
        .order_by(ConnectivityCheck.id.desc())
        .limit(1)
    )


def _trim_history(registry_id: uuid.UUID) -> None:
    keep = (
        select(ConnectivityCheck.id)
        .where(ConnectivityCheck.registry_id == registry_id)
        .order_by(ConnectivityCheck.id.desc())
        .limit(HISTORY_LIMIT)
    )
    db.session.execute(
        delete(ConnectivityCheck)
        .where(ConnectivityCheck.registry_id == registry_id)
        .where(ConnectivityCheck.id.not_in(keep.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )


def history(registry: Registry, limit: int = HISTORY_LIMIT) -> list[ConnectivityCheck]:
    query = (
        select(ConnectivityCheck)
        .where(ConnectivityCheck.registry_id == registry.id)
        .order_by(ConnectivityCheck.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))
