"""The command line of design.md: `flask org|user|runner-token|keys|audit|demo …`."""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from .extensions import db
from .models import PLANS, ROLES, Organization, User
from .services import accounts, audit, credentials, runner_tokens
from .services.vault import new_key_line

DEMO_ORG = "acme"
DEMO_EMAIL = "admin@acme.example"
DEMO_PASSWORD = "demo-password-acme"  # noqa: S105 - the printed demo login, development only

org_cli = AppGroup("org", help="Organizations.")
user_cli = AppGroup("user", help="Users.")
token_cli = AppGroup("runner-token", help="Tokens that tool runners use to fetch pull credentials.")
keys_cli = AppGroup("keys", help="Credential encryption keys.")
audit_cli = AppGroup("audit", help="The audit log.")


def fail(message: str) -> None:
    raise click.ClickException(message)


def _org(slug: str) -> Organization:
    org = accounts.find_org(slug)
    if org is None:
        fail(f"there is no organization with the slug {slug!r}")
    return org  # type: ignore[return-value]


@org_cli.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Display name.")
@click.option("--plan", type=click.Choice(PLANS), default="free", show_default=True)
def org_create(slug: str, name: str, plan: str) -> None:
    """Create an organization."""
    try:
        org = accounts.create_org(slug, name, plan)
    except accounts.AccountError as error:
        fail(str(error))
    db.session.flush()
    audit.record("org.created", org=org, details={"plan": plan})
    db.session.commit()
    click.echo(f"Created organization {org.slug} ({org.plan}).")


@org_cli.command("set-plan")
@click.argument("slug")
@click.argument("plan", type=click.Choice(PLANS))
def org_set_plan(slug: str, plan: str) -> None:
    """Change an organization's plan; a downgrade keeps its data."""
    org = _org(slug)
    old = accounts.set_plan(org, plan)
    audit.record("org.plan_changed", org=org, details={"from": old, "to": plan})
    db.session.commit()
    click.echo(f"{org.slug}: plan {old} -> {plan}.")


@user_cli.command("create")
@click.argument("email")
@click.option("--org", "org_slug", help="Organization slug to join.")
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
@click.option("--support", is_flag=True, help="Platform support staff (no organization).")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from stdin.")
def user_create(email: str, org_slug: str | None, role: str, support: bool, password_stdin: bool):
    """Create a user; the password is read from standard input."""
    if support and org_slug:
        fail("support staff are not members of an organization: drop --org")
    org = _org(org_slug) if org_slug else None
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        user = accounts.create_user(email, password, org=org, role=role, support=support)
    except accounts.AccountError as error:
        fail(str(error))
    db.session.flush()
    audit.record(
        "user.created",
        org=org,
        target=("user", str(user.id), user.email),
        details={"role": role if org else None, "support": support},
        actor=audit.Actor.system(),
    )
    db.session.commit()
    where = f" in {org.slug} as {role}" if org else (" as support staff" if support else "")
    click.echo(f"Created user {user.email}{where}.")


def _token_scope(org_slug: str | None, platform: bool) -> Organization | None:
    """The org of `--org SLUG`, or None for `--platform`; exactly one of them is required."""
    if bool(org_slug) == platform:
        fail(
            "choose the token's scope: --org SLUG (that org's self-hosted machines) "
            "or --platform (the managed fleet, every Enterprise org)"
        )
    return _org(org_slug) if org_slug else None


def _scope_options(command):
    command = click.option(
        "--platform", is_flag=True, help="A platform token (the managed fleet)."
    )(command)
    return click.option("--org", "org_slug", help="The organization the token belongs to.")(
        command
    )


@token_cli.command("create")
@click.argument("name")
@_scope_options
@click.option("--expires-in-days", type=int, help="Expire after this many days (default: never).")
def token_create(
    name: str, org_slug: str | None, platform: bool, expires_in_days: int | None
) -> None:
    """Create a runner token (--org SLUG or --platform) and print it once."""
    org = _token_scope(org_slug, platform)
    try:
        token, row = runner_tokens.create(name, org=org, expires_in_days=expires_in_days)
    except runner_tokens.RunnerTokenError as error:
        fail(str(error))
    db.session.flush()
    runner_tokens.record_created(row, audit.Actor.system())
    db.session.commit()
    click.echo(token)
    scope = "platform" if org is None else f"org {org.slug}"
    click.echo(f"Runner token {name!r} ({scope}) created; it is shown only this once.", err=True)


@token_cli.command("list")
@_scope_options
def token_list(org_slug: str | None, platform: bool) -> None:
    """List an org's (--org SLUG) or the platform's (--platform) runner tokens, never the
    tokens themselves."""
    org = _token_scope(org_slug, platform)
    rows = runner_tokens.tokens_of(org)
    if not rows:
        click.echo("No runner tokens.")
    for row in rows:
        status = row.status()
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else status
        used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
        if row.last_used_address:
            used += f" from {row.last_used_address}"
        expires = f"{row.expires_at:%Y-%m-%d}" if row.expires_at else "never"
        click.echo(
            f"{row.name}\t{state}\tcreated {row.created_at:%Y-%m-%d}\texpires {expires}"
            f"\tlast used {used}"
        )


@token_cli.command("revoke")
@click.argument("name")
@_scope_options
def token_revoke(name: str, org_slug: str | None, platform: bool) -> None:
    """Revoke a runner token (--org SLUG or --platform) at once."""
    org = _token_scope(org_slug, platform)
    try:
        row = runner_tokens.revoke(name, org)
    except runner_tokens.RunnerTokenError as error:
        fail(str(error))
    runner_tokens.record_revoked(row, audit.Actor.system())
    db.session.commit()
    click.echo(f"Revoked runner token {name!r}.")


@keys_cli.command("generate")
def keys_generate() -> None:
    """Print a new key entry to put first in CREDENTIAL_KEYS."""
    click.echo(new_key_line())


@keys_cli.command("rotate")
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 10_000))
def keys_rotate(batch_size: int) -> None:
    """Re-encrypt every secret with the newest key (safe to interrupt and run again).

    Exits non-zero while any secret is still on an older key or unreadable, so that "then
    drop the old key" can wait for a clean run.
    """
    report = credentials.rotate_all(batch_size=batch_size)
    click.echo(f"Re-encrypted {report.rotated} secret(s) with the newest key.")
    if report.on_older_keys:
        keys = ", ".join(f"{key_id}: {count}" for key_id, count in report.on_older_keys.items())
        click.echo(
            f"{sum(report.on_older_keys.values())} secret(s) are still on older keys ({keys}): "
            "a process with an older primary key wrote them. Restart every process with the "
            "new CREDENTIAL_KEYS, then run `flask keys rotate` again.",
            err=True,
        )
    if report.unreadable:
        click.echo(
            f"{len(report.unreadable)} secret(s) could not be decrypted with any configured key; "
            "their registries ask for the credentials again:",
            err=True,
        )
        for item in report.unreadable:
            click.echo(f"  {item.org_slug}: {item.name} ({item.registry_id})", err=True)
    if not report.complete:
        click.echo("Keep the older keys in CREDENTIAL_KEYS until this reports none.", err=True)
        sys.exit(1)
    click.echo("No secret needs an older key: they can be dropped from CREDENTIAL_KEYS.")


@audit_cli.command("prune")
@click.option("--before", required=True, help="Delete events older than this date (YYYY-MM-DD).")
def audit_prune(before: str) -> None:
    """Delete audit events older than a date: the only way events are ever deleted."""
    try:
        cutoff = datetime.strptime(before, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        fail("--before must be a date like 2026-01-31")
    deleted = audit.prune(cutoff)
    click.echo(f"Deleted {deleted} audit event(s) from before {before}.")


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Seed a demo Enterprise org with an admin (once) and print the login."""
    if current_app.config["APP_ENV"] == "production":
        fail(
            "flask demo creates an admin whose password is published in the README; "
            "it does not run when APP_ENV=production"
        )
    if db.session.scalar(select(User).where(User.email == DEMO_EMAIL)) is None:
        org = accounts.find_org(DEMO_ORG) or accounts.create_org(
            DEMO_ORG, "Acme Corp", "enterprise"
        )
        accounts.create_user(DEMO_EMAIL, DEMO_PASSWORD, org=org, role="admin")
        db.session.commit()
        click.echo("Seeded the demo organization.")
    click.echo(f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}")


# --- connectivity checks ---------------------------------------------------------------------

checks_cli = AppGroup("checks", help="Connectivity checks.")


@checks_cli.command("run-due")
def checks_run_due() -> None:
    """Run one sweep: expire, delete abandoned drafts, run due checks; print what it did."""
    from .services import sweep

    report = sweep.run_due()
    click.echo(
        f"Marked {report.expired} registry(ies) expired, deleted {report.drafts_deleted} "
        f"abandoned draft(s), claimed {report.claimed} due check(s)."
    )
    if report.claimed and not report.running:
        click.echo("The checks were handed to the Celery workers.")
    for outcome, count in sorted(report.wait().items()):
        click.echo(f"  {outcome}: {count}")


@checks_cli.command("run")
@click.argument("registry_id", type=click.UUID)
def checks_run(registry_id: uuid.UUID) -> None:
    """Check one registry now, in the foreground, and print the outcome."""
    from .services import checks

    try:
        check = checks.check_now(registry_id)
    except checks.UnknownRegistry:
        fail(f"there is no registry with the id {registry_id}")
    except checks.CheckInProgress:
        fail("a check of this registry is running now; try again when it has finished")
    details = ", ".join(
        part
        for part in (
            f"HTTP {check.http_status}" if check.http_status else "",
            f"{check.duration_ms} ms" if check.duration_ms is not None else "",
        )
        if part
    )
    click.echo(f"{registry_id}: {check.outcome}" + (f" ({details})" if details else ""))
    click.echo(f"  {check.reason}")


def init_app(app: Flask) -> None:
    for group in (org_cli, user_cli, token_cli, keys_cli, audit_cli, checks_cli):
        app.cli.add_command(group)
    app.cli.add_command(demo)
