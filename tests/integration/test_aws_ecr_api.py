"""Issue 19's two-step AWS ECR role create through the REST API, against moto's server (STS,
ECR) with the real docker-registry standing in for the ECR endpoint, as test_aws_ecr.py does for
the wizard: create without a role ARN answers the draft with the platform's external ID and the
two policies and runs no check; a PATCH with the role ARN runs the connect check, keeping the
external ID. Access-key mode is one step, its secret access key write-only. Everything stays on
127.0.0.1."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.test_aws_ecr import ACCOUNT, HOST, ROLE_ARN, make_app
from tests.support.aws import enroll_ecr_password, loopback_only
from tests.support.factories import Factory
from webapp.extensions import db
from webapp.models import AuditEvent, Organization
from webapp.services import runner_tokens

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

API = "/api/v1/registries"


def manage_token(app, slug: str) -> dict[str, str]:
    with app.app_context():
        org = db.session.query(Organization).filter_by(slug=slug).one()
        secret, _ = runner_tokens.create(f"tf-{uuid.uuid4().hex[:6]}", org=org,
                                         permissions=("read", "manage"))
        db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def settings(**more: object) -> dict[str, object]:
    return {"kind": "aws_ecr", "name": "Production ECR", "registry_url": f"{HOST}/team", **more}


def test_role_mode_is_two_steps_and_keeps_its_external_id(aws_env, htpasswd_registry,
                                                          tmp_path):
    enroll_ecr_password(htpasswd_registry, f"{ACCOUNT}-auth-token")
    app = make_app(tmp_path, htpasswd_registry, aws_env.platform.arn)
    client, auth = app.test_client(), manage_token(app, "acme")

    with loopback_only() as attempts:
        created = client.post(API, headers=auth, json=settings(auth_mode="role"))
    assert created.status_code == 201, created.get_data(as_text=True)
    assert attempts.outside_loopback == []
    body = created.get_json()
    assert (body["state"], body["check_running"]) == ("draft", False)
    aws = body["aws"]
    external_id = aws["external_id"]
    assert external_id.startswith("rc-") and aws["role_arn"] is None
    statement = aws["trust_policy"]["Statement"][0]
    assert statement["Principal"] == {"AWS": aws_env.platform.arn}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": external_id}}
    pull = aws["permissions_policy"]["Statement"][1]
    assert pull["Resource"] == f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/team/*"
    location = created.headers["Location"]
    assert client.get(f"{location}/checks", headers=auth).get_json()["items"] == []  # no check

    # Read back later: the same external ID (the trust policy the customer pastes names it).
    polled = client.get(location, headers=auth)
    assert polled.get_json()["aws"]["external_id"] == external_id
    assert polled.get_json()["state"] == "draft"

    # Without If-Match the second step is refused; with it, the check runs (inline in tests).
    second = settings(auth_mode="role", role_arn=ROLE_ARN)
    assert client.patch(location, headers=auth, json=second).status_code == 428
    with loopback_only() as attempts:
        patched = client.patch(location, json=second,
                               headers={**auth, "If-Match": polled.headers["ETag"]})
    assert patched.status_code == 202, patched.get_data(as_text=True)
    assert attempts.outside_loopback == []
    done = client.get(location, headers=auth).get_json()
    assert (done["state"], done["status"]) == ("active", "connected"), done["status_reason"]
    assert done["aws"]["external_id"] == external_id  # never changed
    assert done["aws"]["role_arn"] == ROLE_ARN
    assert [check["outcome"] for check in
            client.get(f"{location}/checks", headers=auth).get_json()["items"]] != []

    # A retried create with the draft gone active is its usual 202; a new create is a new ID.
    other = client.post(API, headers=auth, json=settings(name="Staging ECR",
                                                         registry_url=f"{HOST}/staging"))
    assert other.status_code == 201
    assert other.get_json()["aws"]["external_id"] not in (external_id, None)
    everything = "".join(r.get_data(as_text=True) for r in (created, polled, patched, other))
    assert aws_env.platform.secret_access_key not in everything
    assert f"{ACCOUNT}-auth-token" not in everything  # the minted token stays inside


def test_a_retried_role_create_answers_the_same_draft_and_external_id(
        aws_env, htpasswd_registry, tmp_path):
    app = make_app(tmp_path, htpasswd_registry, aws_env.platform.arn)
    client, auth = app.test_client(), manage_token(app, "acme")
    headers = {**auth, "Idempotency-Key": "ecr-prod"}
    first = client.post(API, headers=headers, json=settings(auth_mode="role"))
    again = client.post(API, headers=headers, json=settings(auth_mode="role"))
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["aws"]["external_id"] == first.get_json()["aws"]["external_id"]


def test_another_orgs_token_gets_404_for_the_role_draft(aws_env, htpasswd_registry, tmp_path):
    app = make_app(tmp_path, htpasswd_registry, aws_env.platform.arn)
    Factory(app).org("globex", plan="enterprise")
    client = app.test_client()
    ours, theirs = manage_token(app, "acme"), manage_token(app, "globex")
    created = client.post(API, headers=ours, json=settings(auth_mode="role"))
    assert created.status_code == 201
    location, etag = created.headers["Location"], created.headers["ETag"]
    external_id = created.get_json()["aws"]["external_id"]
    assert client.get(location, headers=theirs).status_code == 404
    patched = client.patch(location, headers={**theirs, "If-Match": etag},
                           json=settings(auth_mode="role", role_arn=ROLE_ARN))
    assert patched.status_code == 404
    assert client.delete(location, headers={**theirs, "If-Match": etag}).status_code == 404
    listed = client.get(API, headers=theirs).get_data(as_text=True)
    assert external_id not in listed and created.get_json()["id"] not in listed
    mine = client.get(location, headers=ours).get_json()
    assert (mine["state"], mine["aws"]["role_arn"]) == ("draft", None)  # untouched


def test_access_key_mode_is_one_step_and_the_secret_is_write_only(aws_env, htpasswd_registry,
                                                                   tmp_path):
    enroll_ecr_password(htpasswd_registry, f"{ACCOUNT}-auth-token")
    app = make_app(tmp_path, htpasswd_registry, None)
    client, auth = app.test_client(), manage_token(app, "acme")
    canary = "CANARY-aws-secret-" + uuid.uuid4().hex
    created = client.post(API, headers=auth, json=settings(
        auth_mode="access_key", access_key_id="AKIAEXAMPLEKEY000001", password=canary))
    assert created.status_code == 202, created.get_data(as_text=True)
    location = created.headers["Location"]
    polled = client.get(location, headers=auth)
    assert (polled.get_json()["state"], polled.get_json()["status"]) == ("active", "connected")
    assert polled.get_json()["aws"]["access_key_id"] == "AKIAEXAMPLEKEY000001"
    assert polled.get_json()["aws"]["trust_policy"] is None
    # A rename (the secret left out: kept) and a wrong-field answer: the canary in neither.
    renamed = client.patch(location, headers={**auth, "If-Match": polled.headers["ETag"]},
                           json=settings(name="Prod ECR", auth_mode="access_key",
                                         access_key_id="AKIAEXAMPLEKEY000001"))
    refused = client.post(API, headers=auth, json=settings(
        name="Other", registry_url="not ecr", auth_mode="access_key",
        access_key_id="AKIAEXAMPLEKEY000002", password=canary))
    assert refused.status_code == 422
    answers = [created, polled, renamed, refused, client.get(API, headers=auth),
               client.get(f"{location}/checks", headers=auth),
               client.get("/api/v1/audit-events", headers=auth)]
    for answer in answers:
        assert canary not in answer.get_data(as_text=True), answer.request.path
    with app.app_context():
        assert all(canary not in repr(event.details) for event in db.session.query(AuditEvent))
