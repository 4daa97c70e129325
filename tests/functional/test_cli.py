"""The command line: each command's happy path and every error a person can type."""

import pytest

from webapp.extensions import db
from webapp.models import AuditEvent, Membership, Organization, RunnerToken, User


def run(runner, *args, input=None):
    return runner.invoke(args=list(args), input=input)


def test_help_on_every_command(runner):
    for command in ["org", "org create", "org set-plan", "user create", "runner-token",
                    "runner-token create", "runner-token list", "runner-token revoke", "keys",
                    "keys generate", "keys rotate", "audit prune", "demo"]:
        result = run(runner, *command.split(), "--help")
        assert result.exit_code == 0, command
        assert "Usage:" in result.output


def test_org_create_and_set_plan(app, runner):
    assert run(runner, "org", "create", "acme", "--name", "Acme", "--plan", "team").exit_code == 0
    result = run(runner, "org", "set-plan", "acme", "enterprise")
    assert result.exit_code == 0 and "team -> enterprise" in result.output
    with app.app_context():
        assert db.session.query(Organization).one().plan == "enterprise"
        assert [e.action for e in db.session.query(AuditEvent)] == ["org.created", "org.plan_changed"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["org", "create", "acme", "--name", "Again"], "already exists"),
        (["org", "create", "Bad Slug!", "--name", "X"], "slug must be"),
        (["org", "create", "new", "--name", "X", "--plan", "gold"], "Invalid value for '--plan'"),
        (["org", "create", "new"], "Missing option '--name'"),
        (["org", "create", "new", "--name", "   "], "name must be"),
        (["org", "set-plan", "nope", "team"], "no organization with the slug 'nope'"),
        (["org", "set-plan", "acme", "gold"], "Invalid value"),
        (["user", "create", "x@y.test", "--org", "nope", "--password-stdin"], "no organization"),
        (["user", "create", "x@y.test", "--org", "acme", "--support", "--password-stdin"],
         "drop --org"),
        (["user", "create", "not-an-email", "--password-stdin"], "email address"),
        (["user", "create", "taken@acme.test", "--password-stdin"], "already exists"),
        (["user", "create", "x@y.test", "--role", "owner", "--password-stdin"], "Invalid value"),
        (["user", "create", "x@y.test"], "Missing option '--password-stdin'"),
        (["runner-token", "create", "bad name", "--platform"], "the name must be"),
        (["runner-token", "create", "ci", "--platform"], "already exists"),
        (["runner-token", "create", "ci2"], "choose the token's scope: --org SLUG"),
        (["runner-token", "create", "ci2", "--org", "acme", "--platform"], "choose the token's"),
        (["runner-token", "create", "ci2", "--org", "nope"], "no organization"),
        (["runner-token", "list"], "choose the token's scope"),
        (["runner-token", "revoke", "ci"], "choose the token's scope"),
        (["runner-token", "revoke", "nope", "--platform"], "no runner token named 'nope'"),
        (["runner-token", "revoke", "ci", "--org", "acme"], "no runner token named 'ci' in acme"),
        (["audit", "prune", "--before", "yesterday"], "--before must be a date"),
        (["keys", "rotate", "--batch-size", "0"], "Invalid value"),
    ],
)
def test_errors_are_clear_and_exit_non_zero(app, runner, args, message):
    run(runner, "org", "create", "acme", "--name", "Acme")
    run(runner, "user", "create", "taken@acme.test", "--password-stdin", input="long enough password\n")
    run(runner, "runner-token", "create", "ci", "--platform")
    result = run(runner, *args, input="long enough password\n")
    assert result.exit_code != 0
    assert message in result.output
    # A clean usage or ClickException exit, not an exception escaping the command.
    assert isinstance(result.exception, SystemExit)


def test_short_password_is_refused(app, runner):
    result = run(runner, "user", "create", "x@y.test", "--password-stdin", input="short\n")
    assert result.exit_code == 1 and "at least 12 characters" in result.output
    with app.app_context():
        assert db.session.query(User).count() == 0


def test_user_create_with_org_and_support(app, runner):
    run(runner, "org", "create", "acme", "--name", "Acme", "--plan", "enterprise")
    result = run(runner, "user", "create", "Admin@Acme.test", "--org", "acme", "--role", "admin",
                 "--password-stdin", input="long enough password\n")
    assert result.exit_code == 0, result.output
    assert run(runner, "user", "create", "help@platform.test", "--support", "--password-stdin",
               input="long enough password\n").exit_code == 0
    with app.app_context():
        membership = db.session.query(Membership).one()
        assert membership.user.email == "admin@acme.test" and membership.role == "admin"
        assert db.session.query(User).filter_by(email="help@platform.test").one().is_support


def test_runner_tokens_are_shown_once_and_stored_hashed(app, runner):
    result = run(runner, "runner-token", "create", "ci", "--platform")
    token = result.stdout.strip()
    assert result.exit_code == 0 and token.startswith("prt_") and len(token) > 40
    listing = run(runner, "runner-token", "list", "--platform")
    assert "ci\tactive" in listing.output and token not in listing.output
    with app.app_context():
        row = db.session.query(RunnerToken).one()
        import hashlib

        # Stored as the SHA-256 of the token, and only that.
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert run(runner, "runner-token", "revoke", "ci", "--platform").exit_code == 0
    assert "revoked" in run(runner, "runner-token", "list", "--platform").output


def test_runner_token_names_are_unique_per_org_and_among_platform_tokens(app, runner):
    for slug in ("acme", "beta"):
        run(runner, "org", "create", slug, "--name", slug.title(), "--plan", "enterprise")
    for scope in (["--platform"], ["--org", "acme"], ["--org", "beta"]):
        result = run(runner, "runner-token", "create", "ci", *scope, "--expires-in-days", "30")
        assert result.exit_code == 0, result.output
    again = run(runner, "runner-token", "create", "ci", "--org", "acme")
    assert again.exit_code == 1 and "already exists in acme" in again.output
    # Each scope lists only its own; revoking acme's leaves beta's and the platform's alive.
    assert run(runner, "runner-token", "revoke", "ci", "--org", "acme").exit_code == 0
    assert "revoked" in run(runner, "runner-token", "list", "--org", "acme").output
    for scope in (["--platform"], ["--org", "beta"]):
        listing = run(runner, "runner-token", "list", *scope).output
        assert "ci\tactive" in listing and "expires 20" in listing
    with app.app_context():
        actions = [(e.action, e.org_id is None) for e in
                   db.session.query(AuditEvent).filter(AuditEvent.action.like("runner_token.%"))]
        assert actions.count(("runner_token.created", True)) == 1  # the platform's: no org
        assert actions.count(("runner_token.created", False)) == 2
        assert actions.count(("runner_token.revoked", False)) == 1


def test_demo_seeds_once_and_prints_the_login(app, runner):
    first = run(runner, "demo")
    second = run(runner, "demo")
    assert first.exit_code == second.exit_code == 0
    assert "Demo login: admin@acme.example / demo-password-acme" in second.output
    with app.app_context():
        assert db.session.query(User).count() == 1
        assert db.session.query(Organization).one().plan == "enterprise"


def test_demo_refuses_under_app_env_production(database_url):
    from tests.support.apps import build_app

    app = build_app(database_url, APP_ENV="production")
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 1
    assert "does not run when APP_ENV=production" in result.output
    assert "demo-password-acme" not in result.output
    with app.app_context():
        assert db.session.query(User).count() == 0 and db.session.query(Organization).count() == 0
        db.engine.dispose()
