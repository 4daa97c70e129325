"""The AWS ECR type end to end: the wizard, token minting with boto3 against moto's server (both
modes) and the scriptable fake AWS (refusals, expiry, realistic tokens), the real docker-registry
standing in for the ECR endpoint (ECR_REGISTRY_URL), the runner API's answer pulled with skopeo,
and renewal by the sweep with no request. Everything stays on 127.0.0.1 (the AWS fixtures cut
boto3 off from the machine: AWS_EC2_METADATA_DISABLED, empty config files)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from tests.support.apps import build_app
from tests.support.aws import enroll_ecr_password, loopback_only
from tests.support.factories import Factory
from webapp.extensions import db
from webapp.models import AuditEvent, Registry
from webapp.services import credentials, runner_tokens, sweep

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

BASE = "/orgs/acme/settings/infrastructure/container-registry"
API = "/api/v1/pull-credentials"
ACCOUNT = "444455556666"  # the fake's customer account
HOST = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/registry-connect-pull"


def make_app(tmp_path, registry, platform_arn: str | None, **extra):
    config = dict(
        OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32",
        CHECK_TIMEOUT_SECONDS=8,
        ECR_REGISTRY_URL=registry.url,
        REGISTRY_CA_BUNDLE=registry.ca_file,
    )
    if platform_arn:
        config["AWS_PLATFORM_ROLE_ARN"] = platform_arn
    config.update(extra)
    app = build_app(f"sqlite:///{tmp_path / 'ecr.db'}", **config)
    make = Factory(app)
    make.org("acme", plan="enterprise")
    make.user("admin@acme.test", org="acme", role="admin")
    return app


def admin_client(app):
    client = app.test_client()
    client.post_form("/login", {"email": "admin@acme.test", "password": "correct horse battery"})
    return client


def step2_page(client) -> tuple[str, str]:
    page = client.get(f"{BASE}/new/aws_ecr").get_data(as_text=True)
    token = re.search(r'name="draft" type="hidden" value="([^"]+)"', page).group(1)
    return page, token


def external_id_on(page: str) -> str:
    return re.search(r'id="aws-external-id"[^>]*>([^<]+)<', page).group(1)


def connect(client, token: str, **fields):
    data = {"csrf_token": client.csrf_token(f"{BASE}/new/aws_ecr"), "draft": token,
            "name": "Production ECR", "registry_url": f"{HOST}/team"}
    data.update(fields)
    return client.post(f"{BASE}/new/aws_ecr", data=data)


def only_registry(app) -> Registry:
    with app.app_context():
        (registry,) = db.session.query(Registry).all()
        db.session.expunge(registry)
        return registry


def runner_answer(app, image: str, **body):
    with app.app_context():
        secret, _ = runner_tokens.create(f"runner-{uuid.uuid4().hex[:6]}")
        db.session.commit()
    response = app.test_client().post(
        API, headers={"Authorization": f"Bearer {secret}"},
        json={"organization": "acme", "image": image, **body},
    )
    return response


# --- moto: both modes connect, the answer pulls -----------------------------------------------


def test_role_mode_connects_through_moto_and_the_runner_answer_pulls(
    aws_env, htpasswd_registry, skopeo, tmp_path
):
    moto_password = f"{ACCOUNT}-auth-token"  # moto mints <registryId>-auth-token
    enroll_ecr_password(htpasswd_registry, moto_password)
    repo = f"team/{uuid.uuid4().hex[:8]}"
    pushed = skopeo.copy_test_image(htpasswd_registry, repo)
    assert pushed.ok, pushed.output
    app = make_app(tmp_path, htpasswd_registry, aws_env.platform.arn)
    client = admin_client(app)
    page, token = step2_page(client)
    external_id = external_id_on(page)
    assert external_id.startswith("rc-") and aws_env.platform.arn in page
    with loopback_only() as attempts:
        response = connect(client, token, auth_mode="role", role_arn=ROLE_ARN)
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]
    assert attempts.outside_loopback == []
    registry = only_registry(app)
    assert (registry.state, registry.status) == ("active", "connected"), registry.status_reason
    assert registry.aws_external_id == external_id  # the one the page showed, kept
    assert registry.secret_ciphertext is None  # a role: no AWS secret stored at all
    assert registry.token_ciphertext is not None
    assert moto_password.encode() not in registry.token_ciphertext
    # moto answers expiresAt 2015: kept as told, meaning "unknown" (renewed at the next sweep)
    assert registry.token_expires_at < datetime.now(UTC)
    assert registry.expires_at is None  # the registry's own expiry stays apart
    assert registry.next_check_at <= datetime.now(UTC) + timedelta(seconds=1)

    detail = client.get(f"{BASE}/{registry.id}").get_data(as_text=True)
    assert "AWS setup" in detail and external_id in detail and "expiry unknown" in detail
    assert f'&#34;sts:ExternalId&#34;: &#34;{external_id}&#34;' in detail  # the trust policy

    answer = runner_answer(app, f"{HOST}/{repo}:v1")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["credential"]["kind"] == "ecr_token"
    assert body["credential"]["expires_at"].startswith("2015-")
    entry = body["auths"][HOST]  # the ECR host, as Docker looks it up
    assert (entry["username"], entry["password"]) == ("AWS", moto_password)
    assert aws_env.platform.secret_access_key not in answer.get_data(as_text=True)
    pulled = skopeo.inspect(f"{htpasswd_registry.host_port}/{repo}:v1",
                            creds=(entry["username"], entry["password"]),
                            cert_dir=htpasswd_registry.cert_dir)
    assert pulled.ok, pulled.output
    assert pulled.digest == pushed.digest

    refused = runner_answer(app, f"{HOST}/{repo}:v1", credential="pull_token")
    assert refused.status_code == 409
    assert refused.get_json()["error"] == "pull_token_unsupported"
    auto = runner_answer(app, f"{HOST}/{repo}:v1", credential="auto")
    assert auto.get_json()["auths"][HOST]["password"] == moto_password


def test_access_key_mode_connects_through_moto(aws_env, htpasswd_registry, tmp_path):
    enroll_ecr_password(htpasswd_registry, f"{ACCOUNT}-auth-token")
    app = make_app(tmp_path, htpasswd_registry, None)
    client = admin_client(app)
    page, token = step2_page(client)
    assert "AWS_PLATFORM_ROLE_ARN" in page  # the role option explains what is missing
    secret_key = "CANARY-aws-secret-" + uuid.uuid4().hex
    response = connect(client, token, auth_mode="access_key",
                       access_key_id="AKIAEXAMPLEKEY000001", password=secret_key)
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]
    registry = only_registry(app)
    assert registry.status == "connected", registry.status_reason
    assert registry.aws_access_key_id == "AKIAEXAMPLEKEY000001"
    assert secret_key.encode() not in registry.secret_ciphertext
    with app.app_context():
        stored = db.session.get(Registry, registry.id)
        assert credentials.read_secret(stored) == secret_key
        events = db.session.query(AuditEvent).all()
    assert all(secret_key not in repr(event.details) for event in events)
    detail = client.get(f"{BASE}/{registry.id}").get_data(as_text=True)
    assert secret_key not in detail and f"{ACCOUNT}-auth-token" not in detail


def test_the_role_option_is_refused_without_a_platform_identity(aws_env, htpasswd_registry,
                                                                 tmp_path):
    app = make_app(tmp_path, htpasswd_registry, None)
    client = admin_client(app)
    _, token = step2_page(client)
    response = connect(client, token, auth_mode="role", role_arn=ROLE_ARN)
    assert response.status_code == 422
    assert "must set AWS_PLATFORM_ROLE_ARN" in response.get_data(as_text=True)


# --- the fake AWS: refusals, each with its reason ---------------------------------------------


def _connect_with_fake(fake_aws, htpasswd_registry, tmp_path, mode="role", trust=True, **fields):
    app = make_app(tmp_path, htpasswd_registry, fake_aws.platform.arn)
    client = admin_client(app)
    page, token = step2_page(client)
    external_id = external_id_on(page)
    if trust:  # the customer pasted the trust policy the page showed
        fake_aws.add_role(ROLE_ARN, external_id=external_id)
    if mode == "role":
        fields = {"auth_mode": "role", "role_arn": ROLE_ARN, **fields}
    else:
        key = fake_aws.customer_key
        fields = {"auth_mode": "access_key", "access_key_id": key.access_key_id,
                  "password": key.secret_access_key, **fields}
    response = connect(client, token, **fields)
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]
    return app, client, only_registry(app)


def test_fake_role_mode_sends_the_external_id_session_name_and_900_seconds(
    fake_aws, htpasswd_registry, tmp_path
):
    fake_aws.script_ecr(password="fake-minted-" + uuid.uuid4().hex)
    enroll_ecr_password(htpasswd_registry, fake_aws._ecr_password)
    app, _, registry = _connect_with_fake(fake_aws, htpasswd_registry, tmp_path)
    assert registry.status == "connected", registry.status_reason
    assume, get_token = fake_aws.calls.snapshot()[-2:]
    assert assume.action == "AssumeRole" and get_token.action == "GetAuthorizationToken"
    assert assume.access_key_id == fake_aws.platform.access_key_id  # the platform's own chain
    assert assume.external_id == registry.aws_external_id
    assert assume.role_session_name == "rc-" + registry.id.hex
    assert assume.duration_seconds == 900
    assert get_token.registry_ids == (ACCOUNT,) and get_token.region == "eu-west-1"
    # A real 12-hour expiry: the sweep renews an hour before it
    expected = fake_aws.last_token.expires_at
    assert abs(registry.token_expires_at - expected) < timedelta(seconds=2)
    assert registry.next_check_at <= expected - timedelta(hours=1)


def test_fake_assume_role_refused_says_trust_policy_or_external_id(
    fake_aws, htpasswd_registry, tmp_path
):
    _, client, registry = _connect_with_fake(fake_aws, htpasswd_registry, tmp_path, trust=False)
    assert registry.state == "draft" and registry.status == "auth_failed"
    assert "assume the role" in registry.status_reason
    assert "external ID" in registry.status_reason
    page = client.get(f"{BASE}/{registry.id}/connect").get_data(as_text=True)
    assert "trust policy" in page


def test_fake_invalid_access_key_says_so(fake_aws, htpasswd_registry, tmp_path):
    key = fake_aws.customer_key
    _, _, registry = _connect_with_fake(
        fake_aws, htpasswd_registry, tmp_path, mode="access_key",
        password=key.secret_access_key + "x",
    )
    assert registry.status == "auth_failed"
    assert f"does not accept the access key {key.access_key_id}" in registry.status_reason


def test_fake_get_authorization_token_refused_shows_the_policy_to_add(
    fake_aws, htpasswd_registry, tmp_path
):
    fake_aws.allow_ecr(ROLE_ARN, False)
    app = make_app(tmp_path, htpasswd_registry, fake_aws.platform.arn)
    client = admin_client(app)
    page, token = step2_page(client)
    fake_aws.add_role(ROLE_ARN, external_id=external_id_on(page), ecr_allowed=False)
    connect(client, token, auth_mode="role", role_arn=ROLE_ARN)
    registry = only_registry(app)
    assert registry.status == "missing_scope"
    assert "ecr:GetAuthorizationToken" in registry.status_reason
    status_page = client.get(f"{BASE}/{registry.id}/connect").get_data(as_text=True)
    assert "ecr:GetAuthorizationToken" in status_page
    # The policy to add, with this registry's account, region and namespace in it
    assert 'id="aws-permissions-policy"' in status_page
    assert f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/team/*" in status_page


def test_a_repository_that_refuses_the_pull_is_missing_scope(
    fake_aws, htpasswd_registry, tmp_path
):
    fake_aws.script_ecr(password="fake-minted-" + uuid.uuid4().hex)
    enroll_ecr_password(htpasswd_registry, fake_aws._ecr_password)
    _, _, registry = _connect_with_fake(fake_aws, htpasswd_registry, tmp_path,
                                        test_image="app:missing")
    assert registry.status == "missing_scope"
    assert "app:missing" in registry.status_reason


def test_an_unknown_region_is_refused_before_aws_is_asked(fake_aws, htpasswd_registry, tmp_path):
    app = make_app(tmp_path, htpasswd_registry, fake_aws.platform.arn)
    client = admin_client(app)
    _, token = step2_page(client)
    response = connect(client, token, registry_url=f"{ACCOUNT}.dkr.ecr.xx-nowhere-1.amazonaws.com",
                       auth_mode="role", role_arn=ROLE_ARN)
    assert response.status_code == 422
    assert "AWS has no region “xx-nowhere-1”" in response.get_data(as_text=True)
    # A stored one (botocore's data changed since) fails its check with its own reason.
    with app.app_context():
        org_id = db.session.execute(db.text("select id from organizations")).scalar()
        registry = Registry(id=uuid.uuid4(), org_id=org_id, kind="aws_ecr", name="Old region",
                            name_key="old region", host=f"{ACCOUNT}.dkr.ecr.xx-nowhere-1.amazonaws.com",
                            username="AWS", state="active", aws_auth_mode="role",
                            aws_role_arn=ROLE_ARN, aws_external_id="rc-x")
        db.session.add(registry)
        db.session.commit()
        from webapp.services import checks
        check = checks.check_now(registry.id)
        assert check.outcome == "not_a_registry"
        assert "xx-nowhere-1" in check.reason
    assert not [c for c in fake_aws.calls.snapshot() if c.region == "xx-nowhere-1"]


# --- renewal by the sweep, without a request ---------------------------------------------------


def test_the_sweep_renews_a_token_near_expiry_and_keeps_it_when_renewal_fails(
    fake_aws, htpasswd_registry, tmp_path
):
    first = "fake-first-" + uuid.uuid4().hex
    fake_aws.script_ecr(password=first, expires_in=timedelta(minutes=30))  # < an hour left
    enroll_ecr_password(htpasswd_registry, first)
    app, _, registry = _connect_with_fake(fake_aws, htpasswd_registry, tmp_path)
    assert (registry.state, registry.status) == ("active", "connected"), registry.status_reason
    second = "fake-second-" + uuid.uuid4().hex
    fake_aws.script_ecr(password=second)  # the next one lives 12 hours
    enroll_ecr_password(htpasswd_registry, second)
    with app.app_context():
        old_cipher = db.session.get(Registry, registry.id).token_ciphertext
        minted_before = len(fake_aws.tokens_issued)
        report = sweep.run_due(datetime.now(UTC) + timedelta(seconds=1))
        report.wait(30)
        assert len(fake_aws.tokens_issued) == minted_before + 1  # one renewal, no request
        db.session.expire_all()
        renewed = db.session.get(Registry, registry.id)
        assert renewed.status == "connected", renewed.status_reason
        assert renewed.token_ciphertext != old_cipher
        assert credentials.read_token(renewed) == second
        assert renewed.token_expires_at > datetime.now(UTC) + timedelta(hours=11)
        # Renewed an hour before the new expiry, not at every sweep.
        assert renewed.next_check_at > datetime.now(UTC) + timedelta(minutes=5)

        # A renewal that fails keeps the old token and says why.
        kept = renewed.token_ciphertext
        soon = datetime.now(UTC) + timedelta(minutes=20)
        db.session.execute(update(Registry).values(token_expires_at=soon,
                                                   next_check_at=datetime.now(UTC)))
        db.session.commit()
        fake_aws.refuse("GetAuthorizationToken", "AccessDeniedException")
        report = sweep.run_due(datetime.now(UTC) + timedelta(seconds=1))
        report.wait(30)
        db.session.expire_all()
        failed = db.session.get(Registry, registry.id)
        assert failed.status == "missing_scope"
        assert "ecr:GetAuthorizationToken" in failed.status_reason
        assert failed.token_ciphertext == kept
        assert credentials.read_token(failed) == second


def test_an_expired_token_is_renewed_at_most_once_per_sweep(fake_aws, htpasswd_registry,
                                                             tmp_path):
    password = "fake-expired-" + uuid.uuid4().hex
    fake_aws.script_ecr(password=password, expires_at=datetime(2015, 1, 1, tzinfo=UTC))  # moto's
    enroll_ecr_password(htpasswd_registry, password)
    app, _, registry = _connect_with_fake(fake_aws, htpasswd_registry, tmp_path)
    assert registry.state == "active", registry.status_reason
    with app.app_context():
        for _ in range(3):
            before = len(fake_aws.tokens_issued)
            report = sweep.run_due(datetime.now(UTC) + timedelta(seconds=1))
            report.wait(30)
            assert len(fake_aws.tokens_issued) == before + 1
        # A sweep whose claim finds the check already leased renews nothing.
        db.session.execute(update(Registry).values(
            lease_until=datetime.now(UTC) + timedelta(minutes=5)))
        db.session.commit()
        before = len(fake_aws.tokens_issued)
        sweep.run_due(datetime.now(UTC) + timedelta(seconds=1)).wait(30)
        assert len(fake_aws.tokens_issued) == before


# --- protections -------------------------------------------------------------------------------


def test_an_access_key_registry_without_its_secret_never_runs_as_the_platform(fake_aws):
    from webapp.registry_client.ecr_tokens import AwsSignIn, MintRefused, mint
    from webapp.registry_client.providers import aws_ecr

    sign_in = AwsSignIn(aws_ecr.parse_host(HOST), aws_ecr.ACCESS_KEY,
                        access_key_id=fake_aws.customer_key.access_key_id, secret_access_key=None)
    with pytest.raises(MintRefused) as refused:
        mint(sign_in, 5)
    assert refused.value.status == "auth_failed"
    assert fake_aws.calls.snapshot() == []  # nothing was signed with the platform's own keys


def test_a_minted_token_has_its_own_purpose_and_rotates_with_the_keys(aws_env, htpasswd_registry,
                                                                     tmp_path):
    from webapp.services.vault import CredentialsUnreadable, KeyRing, Vault, new_key_line

    enroll_ecr_password(htpasswd_registry, f"{ACCOUNT}-auth-token")
    app = make_app(tmp_path, htpasswd_registry, aws_env.platform.arn)
    client = admin_client(app)
    _, token = step2_page(client)
    connect(client, token, auth_mode="role", role_arn=ROLE_ARN)
    registry_id = only_registry(app).id
    with app.app_context():
        registry = db.session.get(Registry, registry_id)
        # Moved into the secret's place, it does not open: a token is never taken for a secret.
        registry.secret_ciphertext, registry.secret_key_id = (registry.token_ciphertext,
                                                              registry.token_key_id)
        with pytest.raises(CredentialsUnreadable):
            credentials.read_secret(registry)
        db.session.rollback()
        old_ring = app.extensions["vault"].ring
        fresh = new_key_line("t9")
        app.extensions["vault"] = Vault(KeyRing.parse(f"{fresh},t1:{'A' * 43}"))
        report = credentials.rotate_all()
        assert report.complete, report
        db.session.expire_all()
        registry = db.session.get(Registry, registry_id)
        assert registry.token_key_id == "t9"
        app.extensions["vault"] = Vault(KeyRing.parse(fresh))  # the old key dropped
        assert credentials.read_token(registry) == f"{ACCOUNT}-auth-token"
        assert old_ring.primary_id == "t1"


def test_the_external_id_is_the_platforms_stable_across_back_and_never_chosen(
    aws_env, htpasswd_registry, tmp_path
):
    app = make_app(tmp_path, htpasswd_registry, aws_env.platform.arn)
    client = admin_client(app)
    page, token = step2_page(client)
    external_id = external_id_on(page)
    back = client.post(f"{BASE}/new/aws_ecr", data={
        "csrf_token": client.csrf_token(f"{BASE}/new/aws_ecr"), "draft": token,
        "name": "Prod", "registry_url": HOST, "auth_mode": "role", "role_arn": ROLE_ARN,
        "back": "1"})
    step1 = client.get(back.headers["Location"])
    choose = client.post(f"{BASE}/new", data={
        "csrf_token": client.csrf_token(back.headers["Location"]), "kind": "aws_ecr",
        "kept": re.search(r'name="kept" value="([^"]+)"', step1.get_data(as_text=True)).group(1)})
    again = client.get(choose.headers["Location"]).get_data(as_text=True)
    assert external_id_on(again) == external_id  # Back and forth: the same one
    assert ROLE_ARN in again
    # Nothing a link carries chooses it (another org's, say).
    linked = client.get(f"{BASE}/new/aws_ecr?external_id=rc-chosen&ext=rc-chosen"
                        "&draft_token=forged").get_data(as_text=True)
    assert "rc-chosen" not in linked and external_id_on(linked) != external_id
    forged = connect(client, token + "x", auth_mode="role", role_arn=ROLE_ARN)
    assert forged.status_code == 422 and "This form expired" in forged.get_data(as_text=True)


def test_the_docker_registry_path_for_an_ecr_address_expires_and_points_to_the_aws_type(
    htpasswd_registry, tmp_path
):
    password = "pasted-get-login-password-" + uuid.uuid4().hex
    enroll_ecr_password(htpasswd_registry, password)
    app = make_app(tmp_path, htpasswd_registry, None)
    client = admin_client(app)
    page = client.get(f"{BASE}/new/docker_registry").get_data(as_text=True)
    token = re.search(r'name="draft" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(f"{BASE}/new/docker_registry", data={
        "csrf_token": client.csrf_token(f"{BASE}/new/docker_registry"), "draft": token,
        "name": "Pasted ECR", "registry_url": HOST, "username": "AWS", "password": password})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:1500]
    registry = only_registry(app)
    assert registry.status == "connected", registry.status_reason
    left = registry.expires_at - datetime.now(UTC)
    assert timedelta(hours=11, minutes=59) < left <= timedelta(hours=12)
    detail = client.get(f"{BASE}/{registry.id}").get_data(as_text=True)
    assert registry.expires_at.strftime("%Y-%m-%d %H:%M") in detail
    with app.app_context():
        sweep.mark_expired(registry.expires_at + timedelta(minutes=1))
        expired = db.session.get(Registry, registry.id)
        assert expired.status == "expired"
    detail = client.get(f"{BASE}/{registry.id}").get_data(as_text=True)
    assert "Credentials expired" in detail and "AWS ECR type" in detail


def test_the_secret_access_key_and_the_minted_token_appear_on_no_page_log_or_audit_entry(
    fake_aws, htpasswd_registry, tmp_path, caplog
):
    import base64
    import logging

    caplog.set_level(logging.DEBUG)
    key = fake_aws.add_access_key(account=ACCOUNT, user="canary")
    minted = "CANARY-minted-" + uuid.uuid4().hex
    fake_aws.script_ecr(password=minted)
    enroll_ecr_password(htpasswd_registry, minted)
    app = make_app(tmp_path, htpasswd_registry, fake_aws.platform.arn)
    client = admin_client(app)
    hx = {"HX-Request": "true"}
    bodies: list[str] = []

    def seen(response):
        bodies.append(response.get_data(as_text=True) + str(response.headers))
        return response

    _, token = step2_page(client)
    seen(connect(client, token, registry_url="not ecr", auth_mode="access_key",
                 access_key_id=key.access_key_id, password=key.secret_access_key))
    response = seen(connect(client, token, auth_mode="access_key",
                            access_key_id=key.access_key_id, password=key.secret_access_key))
    registry = only_registry(app)
    assert registry.status == "connected", registry.status_reason
    fake_aws.refuse("GetAuthorizationToken", "AccessDeniedException", times=1)
    seen(client.post(f"{BASE}/{registry.id}/check",
                     data={"csrf_token": client.csrf_token(f"{BASE}/{registry.id}")}))
    for path in [response.headers["Location"], f"{BASE}/", f"{BASE}/{registry.id}",
                 f"{BASE}/{registry.id}/credentials", f"{BASE}/{registry.id}/connect/status",
                 "/orgs/acme/settings/audit-log/"]:
        seen(client.get(path))
        seen(client.get(path, headers=hx))
    answer = seen(runner_answer(app, f"{HOST}/team/app:1"))
    assert answer.get_json()["auths"][HOST]["password"] == minted  # the runner's, only
    bodies.pop()
    with app.app_context():
        audit = repr([(e.action, e.details, e.target_label) for e in
                      db.session.query(AuditEvent).all()])
    logs = caplog.text + repr([r.__dict__ for r in caplog.records])
    token_b64 = base64.b64encode(f"AWS:{minted}".encode()).decode()
    for secret in (key.secret_access_key, minted, token_b64):
        for body in bodies:
            assert secret not in body
        assert secret not in audit
        assert secret not in logs


def test_a_role_in_another_partition_than_the_platforms_is_refused_beside_the_field(
    aws_env, htpasswd_registry, tmp_path
):
    app = make_app(tmp_path, htpasswd_registry, aws_env.platform.arn)  # an arn:aws: identity
    client = admin_client(app)
    _, token = step2_page(client)
    china = f"arn:aws-cn:iam::{ACCOUNT}:role/registry-pull"
    response = connect(client, token, registry_url=f"{ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn",
                       auth_mode="role", role_arn=china)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="role_arn-error">[^<]*aws-cn partition and the platform', page)
    mixed = connect(client, token, auth_mode="role",
                    role_arn=f"arn:aws:iam::{ACCOUNT}:role/x",
                    registry_url=f"{ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn")
    assert "The registry is in the aws-cn partition; the role must be too" in mixed.get_data(
        as_text=True)
    assert not rows_of(app)


def rows_of(app):
    with app.app_context():
        return db.session.query(Registry).all()


def test_the_docker_registry_form_says_an_ecr_password_lasts_12_hours(htpasswd_registry,
                                                                       tmp_path):
    app = make_app(tmp_path, htpasswd_registry, None)
    client = admin_client(app)
    page = client.get(f"{BASE}/new/docker_registry?registry_url={HOST}/team&username=AWS")
    text = page.get_data(as_text=True)
    assert "expires 12 hours after it is issued" in text
    assert f"new/aws_ecr?registry_url={HOST}/team" in text.replace("%2F", "/")
    plain = client.get(f"{BASE}/new/docker_registry?registry_url=registry.example.com")
    assert 'id="address-note"' not in plain.get_data(as_text=True)
