"""check_registry end to end: a real docker-registry, local Docker Hub, the database."""


import pytest

from tests.support.apps import make_app, make_config
from tests.support.factories import registry_row
from webapp.extensions import db
from webapp.models import AuditEvent, ConnectivityCheck, Registry
from webapp.services import accounts, checks
from webapp.services.vault import new_key_line


@pytest.fixture
def check_app(tmp_path, fake_docker_hub):
    app = make_app(make_config(
        f"sqlite:///{tmp_path / 'checks.db'}",
        OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32",
        DOCKER_HUB_REGISTRY_URL=fake_docker_hub.url,
        DOCKER_HUB_AUTH_URL=fake_docker_hub.auth_url,
        CHECK_TIMEOUT_SECONDS=5,
    ))
    with app.app_context():
        db.create_all()
        accounts.create_org("acme", "Acme", "enterprise")
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


def add(kind, host, username, secret, ca_pem=None, name=None, namespace=""):
    return registry_row(secret=secret, kind=kind, host=host, username=username, name=name,
                        namespace=namespace, ca_pem=ca_pem).id


def test_right_and_wrong_password_on_a_real_registry(check_app, htpasswd_registry):
    good = add("docker_registry", htpasswd_registry.host_port, "alice", "s3cret-alice",
               htpasswd_registry.ca_pem)
    bad = add("docker_registry", htpasswd_registry.host_port, "alice", "wrong-password",
              htpasswd_registry.ca_pem, name="bad", namespace="team")
    check = checks.check_registry(good, trigger="connect")
    assert check.outcome == "connected"
    assert checks.check_registry(bad, trigger="manual").outcome == "auth_failed"
    registry = db.session.get(Registry, good)
    assert registry.status == "connected" and registry.last_success_at is not None
    assert registry.lease_until is None and registry.check_stage is None
    assert registry.version == 1  # a background write does not make edits stale
    assert registry.next_check_at > registry.last_checked_at
    bad_row = db.session.get(Registry, bad)
    assert bad_row.status == "auth_failed" and bad_row.consecutive_failures == 1
    assert "wrong-password" not in bad_row.status_reason
    actions = [(e.action, e.details["to"]) for e in db.session.query(AuditEvent).order_by(AuditEvent.id)]
    assert actions == [("registry.checked", "connected"), ("registry.checked", "auth_failed")]


def test_untrusted_certificate_then_fixed_by_the_ca(check_app, htpasswd_registry):
    registry_id = add("docker_registry", htpasswd_registry.host_port, "alice", "s3cret-alice")
    assert checks.check_registry(registry_id).outcome == "tls_error"
    registry = db.session.get(Registry, registry_id)
    registry.ca_certificate = htpasswd_registry.ca_pem
    db.session.commit()
    assert checks.check_registry(registry_id).outcome == "connected"


def test_docker_hub_through_the_local_protocol_server(check_app, fake_docker_hub):
    good = add("docker_hub", "docker.io", "hubuser", "hub-s3cret", fake_docker_hub.ca_pem)
    assert checks.check_registry(good).outcome == "connected"
    bad = add("docker_hub", "docker.io", "hubuser", "nope", fake_docker_hub.ca_pem, name="bad",
              namespace="hubuser")
    check = checks.check_registry(bad)
    assert check.outcome == "auth_failed"
    assert check.realm_host and check.realm_host.startswith("127.0.0.1")


def test_unreadable_secret_makes_no_request(tmp_path, check_app, fake_docker_hub):
    registry_id = add("docker_hub", "docker.io", "hubuser", "hub-s3cret", fake_docker_hub.ca_pem)
    other_keys = make_app(make_config(
        check_app.config["SQLALCHEMY_DATABASE_URI"], CREDENTIAL_KEYS=new_key_line("t1"),
        OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32", DOCKER_HUB_REGISTRY_URL=fake_docker_hub.url,
        DOCKER_HUB_AUTH_URL=fake_docker_hub.auth_url,
    ))
    before = len(fake_docker_hub.requests) + len(fake_docker_hub.auth_requests)
    with other_keys.app_context():
        assert checks.check_registry(registry_id).outcome == "unreadable"
        assert db.session.get(Registry, registry_id).status == "unreadable"
        db.session.remove()
        db.engine.dispose()
    assert len(fake_docker_hub.requests) + len(fake_docker_hub.auth_requests) == before


def test_a_leased_registry_is_not_checked_twice(check_app, htpasswd_registry):
    registry_id = add("docker_registry", htpasswd_registry.host_port, "alice", "s3cret-alice",
                      htpasswd_registry.ca_pem)
    assert checks.claim(registry_id) is True
    assert checks.claim(registry_id) is False
    assert checks.check_registry(registry_id) is None
    assert db.session.query(ConnectivityCheck).count() == 0


def test_history_keeps_the_last_fifty(check_app, htpasswd_registry):
    from webapp.models import utcnow
    from webapp.registry_client.check import CheckResult
    from webapp.registry_client.statuses import Status

    registry_id = add("docker_registry", htpasswd_registry.host_port, "alice", "s3cret-alice")
    result = CheckResult(Status.CONNECTED, "ok", 200, None, None, 5, None, "checking_access")
    for _ in range(55):
        checks.store_result(registry_id, result, "scheduled", None, utcnow())
    assert db.session.query(ConnectivityCheck).count() == 50
    # Scheduled checks are audited only when the status changes.
    assert db.session.query(AuditEvent).filter_by(action="registry.status_changed").count() == 1


def test_an_edit_during_a_check_drops_its_result_and_checks_again(check_app, htpasswd_registry,
                                                                  monkeypatch):
    """A passing result for the old settings must not activate (or mark connected) a draft
    whose address or secret changed while the check ran: storing it drops it and says "run
    again", and the job hands the registry over again once that write has committed."""
    from webapp.models import utcnow
    from webapp.registry_client.check import CheckResult
    from webapp.registry_client.statuses import Status

    registry_id = add("docker_registry", htpasswd_registry.host_port, "alice", "wrong-password",
                      htpasswd_registry.ca_pem)
    registry = db.session.get(Registry, registry_id)
    registry.state = "draft"
    db.session.commit()
    checked_version = registry.version
    registry.username = "mallory"  # the edit that lands while the first check runs
    db.session.commit()
    passed = CheckResult(Status.CONNECTED, "ok", 200, None, None, 5, None, "checking_access")
    again = checks.store_result(registry_id, passed, "connect", None, utcnow(), checked_version)
    assert again == checks.RunAgain(registry_id, "connect", None)
    registry = db.session.get(Registry, registry_id, populate_existing=True)
    assert (registry.state, registry.status) == ("draft", "checking")
    assert registry.check_requested_at is not None and registry.lease_until is None
    assert db.session.query(ConnectivityCheck).count() == 0

    # The same race through the job: the first check's settings change under it; the job runs
    # it again (inline here) with what the registry holds now: refused, and still a draft.
    real_run_check = checks.run_check
    raced: list[CheckResult] = []

    def edited_while_checking(target, settings, on_stage=None):
        if raced:
            return real_run_check(target, settings, on_stage)
        with check_app.app_context():
            row = db.session.get(Registry, registry_id)
            row.username = "trudy"
            db.session.commit()
        raced.append(passed)
        return passed

    monkeypatch.setattr(checks, "run_check", edited_while_checking)
    assert checks.request_check(registry_id, "connect") is True
    registry = db.session.get(Registry, registry_id, populate_existing=True)
    assert raced and registry.state == "draft" and registry.status == "auth_failed"
    assert [c.outcome for c in db.session.query(ConnectivityCheck)] == ["auth_failed"]
