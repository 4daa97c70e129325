"""The support search and the once-an-hour look, on SQLite and PostgreSQL."""

from datetime import timedelta

from tests.support.factories import registry_row
from webapp.extensions import db
from webapp.models import AuditEvent, utcnow
from webapp.services import accounts, support


def test_search_filters_and_pages_on_both_backends(backend_app):
    with backend_app.app_context():
        acme = accounts.create_org("acme", "Acme 100%_Corp", "enterprise")
        team = accounts.create_org("team", "Team Co", "team")
        db.session.flush()
        now = utcnow()
        for n in range(55):
            row = registry_row(acme.id, secret="s", name=f"Mirror {n}", username=f"bot{n}",
                               status="connected", commit=False)
            row.created_at = now - timedelta(minutes=n)
        old = registry_row(team.id, secret="s", name="Old failure", status="auth_failed",
                           commit=False)
        old.last_success_at = now - timedelta(days=2)
        registry_row(team.id, secret="s", name="Draft", status="auth_failed", state="draft",
                     commit=False)
        db.session.commit()

        def names(**args):
            return [r.name for r, _ in support.search(support.Filters.from_args(args)).rows]

        first = support.search(support.Filters.from_args({}))
        assert first.total == 56 and len(first.rows) == 50 and first.pages == 2
        assert names(page="2")[-1] == "Mirror 54"
        assert names(q="100%_") == names(q="ACME 100%")[:50] and len(names(q="100%_")) == 50
        # % and _ are letters, not wildcards: "1%0" would match "100" as a pattern.
        assert names(q="1%0") == [] and names(q="1_0") == [] and names(q="bot42") == ["Mirror 42"]
        assert names(status="failing") == ["Old failure"]  # never the draft
        assert names(status="failing", failing_day="1", plan="team") == ["Old failure"]
        assert names(plan="team", kind="github") == []


def test_a_look_is_recorded_once_an_hour_on_both_backends(backend_app):
    with backend_app.app_context():
        org = accounts.create_org("acme", "Acme", "enterprise")
        user = accounts.create_user("help@platform.test", "correct horse battery", support=True)
        db.session.commit()
        wrote = [support.record_look(user, "support.viewed_org", org.id, ("org", "acme", "Acme"))
                 for _ in range(3)]
        assert wrote == [True, False, False]
        assert db.session.query(AuditEvent).filter_by(action="support.viewed_org").count() == 1
