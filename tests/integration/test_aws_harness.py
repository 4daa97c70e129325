"""The AWS test harness is real and safe: boto3 stays on 127.0.0.1, moto's server mints ECR
tokens both ways, the fake refuses and expires exactly like AWS, and a minted password opens a
real docker-registry for skopeo. The facts these tests pin are written up in tests/support/aws.py.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProxyConnectionError,
    ReadTimeoutError,
)

from tests.support.aws import (
    FAST,
    MOTO_DEFAULT_ACCOUNT,
    PLATFORM_KEY,
    AccessKey,
    AwsEnv,
    MotoServer,
    decode_authorization_token,
    enroll_ecr_password,
    isolate_boto3,
    loopback_only,
)
from tests.support.components import missing
from tests.support.fake_aws import ECR_ERRORS, EXTERNAL_ID, STS_ERRORS, FakeAWS
from tests.support.registries import RunningRegistry
from tests.support.skopeo import Skopeo

pytestmark = pytest.mark.allow_hosts(["127.0.0.1"])

CUSTOMER = "210987654321"
ROLE_ARN = f"arn:aws:iam::{CUSTOMER}:role/registry-pull"
UTC = dt.UTC
ROOT = Path(__file__).resolve().parents[2]


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def temporary_key(credentials: dict) -> AccessKey:
    return AccessKey(credentials["AccessKeyId"], credentials["SecretAccessKey"], "assumed",
                     session_token=credentials["SessionToken"])


def assume(env: AwsEnv, role_arn: str, external_id: str | None = EXTERNAL_ID, **extra) -> dict:
    kwargs = {"RoleArn": role_arn, "RoleSessionName": "rc-check", "DurationSeconds": 900, **extra}
    if external_id is not None:
        kwargs["ExternalId"] = external_id
    return env.client("sts").assume_role(**kwargs)


# --- isolation ----------------------------------------------------------------------------------


def test_isolated_boto3_only_ever_reaches_loopback(aws_env: AwsEnv, moto_server: MotoServer):
    with loopback_only() as attempts:
        identity = aws_env.client("sts").get_caller_identity()  # the default chain: env vars
        creds = assume(aws_env, ROLE_ARN)["Credentials"]
        aws_env.client("ecr", temporary_key(creds)).get_authorization_token(registryIds=[CUSTOMER])
    assert identity["Account"] == MOTO_DEFAULT_ACCOUNT
    assert attempts.connects and attempts.outside_loopback == []
    assert {address[1] for address in attempts.connects} == {moto_server.port}


def test_isolated_boto3_without_credentials_never_probes_instance_metadata(aws_env: AwsEnv):
    aws_env.drop_platform_credentials()
    with loopback_only() as attempts, pytest.raises(NoCredentialsError):
        aws_env.client("sts").get_caller_identity()
    assert attempts.outside_loopback == []


def test_guard_sees_the_metadata_probe_when_isolation_is_missing(
    aws_env: AwsEnv, monkeypatch: pytest.MonkeyPatch
):
    """The control for the test above: what the isolation prevents, and that the guard can fail."""
    aws_env.drop_platform_credentials()
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    with loopback_only() as attempts, pytest.raises(NoCredentialsError):
        aws_env.client("sts").get_caller_identity()
    assert "169.254.169.254" in attempts.outside_loopback  # refused by the guard, never sent


def test_the_machines_aws_settings_cannot_leak_in(monkeypatch: pytest.MonkeyPatch, tmp_path):
    leaks = {
        "AWS_PROFILE": "production",
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_SESSION_TOKEN": "machine-token",
        "AWS_ENDPOINT_URL_ECR": "http://127.0.0.3:1",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.4:1/creds",
        "HTTPS_PROXY": "http://127.0.0.5:3128",
        "no_proxy": "*",
    }
    for name, value in leaks.items():
        monkeypatch.setenv(name, value)
    env = isolate_boto3(monkeypatch, tmp_path, "http://127.0.0.1:9")
    assert not set(leaks) & set(os.environ)
    assert os.environ["AWS_EC2_METADATA_DISABLED"] == "true"
    assert os.environ["AWS_ACCESS_KEY_ID"] == PLATFORM_KEY.access_key_id
    assert os.environ["AWS_PLATFORM_ROLE_ARN"] == PLATFORM_KEY.arn
    assert os.environ["AWS_CONFIG_FILE"] == str(env.config_file)
    assert os.environ["AWS_SHARED_CREDENTIALS_FILE"] == str(env.credentials_file)
    assert env.config_file.read_text() == env.credentials_file.read_text() == ""
    assert boto3.DEFAULT_SESSION is None
    assert env.client("ecr").meta.endpoint_url == "http://127.0.0.1:9"
    with pytest.raises(NoRegionError):  # no region from the machine: the feature must pass one
        boto3.session.Session().client("ecr")


def test_endpoint_resolution_the_feature_relies_on(aws_env: AwsEnv):
    session = boto3.session.Session()
    assert session.client("sts", region_name="eu-west-1").meta.endpoint_url == aws_env.endpoint_url
    aws_env.point_at("http://127.0.0.1:2", service="ecr")  # after the session exists: still seen
    assert session.client("ecr", region_name="eu-west-1").meta.endpoint_url == "http://127.0.0.1:2"
    assert session.client("sts", region_name="eu-west-1").meta.endpoint_url == aws_env.endpoint_url
    explicit = session.client("ecr", region_name="eu-west-1", endpoint_url="http://127.0.0.1:3")
    assert explicit.meta.endpoint_url == "http://127.0.0.1:3"


def test_none_credentials_silently_become_the_platforms_identity(
    fake_aws: FakeAWS, monkeypatch: pytest.MonkeyPatch
):
    """The trap the feature must avoid: a customer key pair that comes out as None."""
    session = boto3.session.Session()
    sts = session.client("sts", "eu-west-1", aws_access_key_id=None, aws_secret_access_key=None)
    assert sts.get_caller_identity()["Arn"] == PLATFORM_KEY.arn
    with pytest.raises(PartialCredentialsError):
        session.client("sts", "eu-west-1", aws_access_key_id="AKIAONLYHALF00000001")
    # Explicit keys are used alone: a session token in the environment is not mixed in (the fake
    # would refuse a long-term key that arrives with one).
    monkeypatch.setenv("AWS_SESSION_TOKEN", "a-token-from-the-machine")
    key = fake_aws.customer_key
    explicit = session.client("sts", "eu-west-1", aws_access_key_id=key.access_key_id,
                              aws_secret_access_key=key.secret_access_key)
    assert explicit.get_caller_identity()["Arn"] == key.arn
    assert not fake_aws.calls[-1].sent_session_token


def test_environment_proxies_reach_botocore_unless_switched_off(
    aws_env: AwsEnv, aws_unreachable_url: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("HTTP_PROXY", aws_unreachable_url)
    with pytest.raises(ProxyConnectionError):
        aws_env.client("sts").get_caller_identity()
    no_proxies = FAST.merge(Config(proxies={}))
    assert aws_env.client("sts", config=no_proxies).get_caller_identity()["Account"]


# --- moto's server --------------------------------------------------------------------------------


def test_moto_mints_a_token_for_an_access_key_pair(aws_env: AwsEnv):
    key = AccessKey("AKIACUSTOMERKEY00001", "customer-secret", f"arn:aws:iam::{CUSTOMER}:user/x")
    answer = aws_env.client("ecr", key).get_authorization_token(registryIds=[CUSTOMER])
    (data,) = answer["authorizationData"]
    assert decode_authorization_token(data["authorizationToken"]) == ("AWS", f"{CUSTOMER}-auth-token")
    assert data["expiresAt"] == dt.datetime(2015, 1, 1, tzinfo=UTC)  # always in the past
    assert data["proxyEndpoint"] == f"https://{CUSTOMER}.dkr.ecr.eu-west-1.amazonaws.com"


def test_moto_assume_role_with_external_id_then_ecr(aws_env: AwsEnv):
    before = dt.datetime.now(UTC)
    answer = assume(aws_env, ROLE_ARN)
    creds = answer["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert answer["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{CUSTOMER}:assumed-role/registry-pull/rc-check"
    assert dt.timedelta(seconds=895) < creds["Expiration"] - before < dt.timedelta(seconds=905)
    key = temporary_key(creds)
    assert aws_env.client("sts", key).get_caller_identity()["Account"] == CUSTOMER
    (data,) = aws_env.client("ecr", key).get_authorization_token()["authorizationData"]
    assert decode_authorization_token(data["authorizationToken"])[1] == f"{CUSTOMER}-auth-token"


def test_moto_checks_no_trust_policy_or_external_id_by_default(aws_env: AwsEnv):
    stranger = AccessKey("AKIASTRANGER00000001", "wrong", "arn:aws:iam::999999999999:user/x")
    for external_id in ("not-the-one", None):
        answer = aws_env.client("sts", stranger).assume_role(
            RoleArn=ROLE_ARN, RoleSessionName="rc-check",
            **({"ExternalId": external_id} if external_id else {}),
        )
        assert answer["Credentials"]["AccessKeyId"]


def test_moto_iam_checks_are_partial(aws_env: AwsEnv, moto_server: MotoServer):
    iam = aws_env.client("iam", region="us-east-1")
    user = iam.create_user(UserName="platform")["User"]
    key = iam.create_access_key(UserName="platform")["AccessKey"]
    platform = AccessKey(key["AccessKeyId"], key["SecretAccessKey"], user["Arn"])
    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(UserName="platform", PolicyName="all", PolicyDocument=json.dumps(allow))
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": user["Arn"]}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}}]}
    role = iam.create_role(RoleName="pull", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    with moto_server.enforce_iam():
        sts = aws_env.client("sts", platform, region="us-east-1")
        with pytest.raises(ClientError) as wrong_id:
            sts.assume_role(RoleArn=role["Arn"], RoleSessionName="rc-check", ExternalId="wrong-id")
        assert error_of(wrong_id) == ("AccessDenied", 403)
        bad_secret = AccessKey(platform.access_key_id, "not-the-secret", user["Arn"])
        with pytest.raises(ClientError) as signature:
            aws_env.client("sts", bad_secret, region="us-east-1").get_caller_identity()
        assert error_of(signature) == ("SignatureDoesNotMatch", 403)
        # The gaps: no ExternalId at all passes, and ECR refusals lose their AWS error code.
        creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="rc-check")["Credentials"]
        unknown = AccessKey("AKIANOBODY0000000001", "x", "nobody")
        with pytest.raises(ClientError) as ecr_refusal:
            aws_env.client("ecr", unknown, region="us-east-1").get_authorization_token()
        assert error_of(ecr_refusal) == ("403", 403)
    assert creds["AccessKeyId"]


OFFLINE_SCRIPT = """
import json, os, sys, boto3
from tests.support.aws import decode_authorization_token, start_moto_server
server = start_moto_server()
try:
    os.environ["AWS_ENDPOINT_URL"] = server.url
    platform = boto3.session.Session(aws_access_key_id="AKIAOFFLINE000000001",
                                     aws_secret_access_key="x", region_name="eu-west-1")
    creds = platform.client("sts").assume_role(
        RoleArn=sys.argv[1], RoleSessionName="rc-check", ExternalId="x-1", DurationSeconds=900
    )["Credentials"]
    ecr = boto3.session.Session(aws_access_key_id=creds["AccessKeyId"],
                                aws_secret_access_key=creds["SecretAccessKey"],
                                aws_session_token=creds["SessionToken"]).client("ecr", "eu-west-1")
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    print(json.dumps(decode_authorization_token(token)))
finally:
    server.stop()
"""


def test_moto_server_runs_with_no_network_but_loopback(tmp_path):
    """In a network namespace of its own (only ``lo``): nothing moto does can need the network."""
    if subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode != 0:
        missing("network namespaces", "unshare --net needs root (CI runs as root)")
    script = tmp_path / "offline.py"
    script.write_text(OFFLINE_SCRIPT)
    env = {"PATH": os.environ["PATH"] + ":/usr/sbin:/sbin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT),
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    done = subprocess.run(
        ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"',
         sys.executable, str(script), ROLE_ARN],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == ["AWS", f"{CUSTOMER}-auth-token"]


# --- the fake: success, and what it records -----------------------------------------------------


def test_fake_access_key_pair_mode(fake_aws: FakeAWS):
    ecr = fake_aws.env.client("ecr", fake_aws.customer_key)
    before = dt.datetime.now(UTC)
    (data,) = ecr.get_authorization_token(registryIds=[fake_aws.customer_key.account])[
        "authorizationData"
    ]
    token = fake_aws.last_token
    assert decode_authorization_token(data["authorizationToken"]) == ("AWS", token.password)
    assert len(token.password) > 1500  # as long as a real ECR password
    assert dt.timedelta(hours=12) - dt.timedelta(seconds=5) < data["expiresAt"] - before <= dt.timedelta(hours=12, seconds=5)
    assert data["proxyEndpoint"] == "https://444455556666.dkr.ecr.eu-west-1.amazonaws.com"
    (call,) = fake_aws.calls
    assert (call.service, call.action, call.region, call.registry_ids, call.ok) == (
        "ecr", "GetAuthorizationToken", "eu-west-1", ("444455556666",), True)
    assert call.access_key_id == fake_aws.customer_key.access_key_id


def test_fake_assume_role_mode_records_what_was_asked(fake_aws: FakeAWS):
    answer = assume(fake_aws.env, fake_aws.customer_role.arn)
    creds = answer["Credentials"]
    (session,) = fake_aws.sessions_issued
    assert session.access_key_id == creds["AccessKeyId"]
    assert answer["AssumedRoleUser"]["Arn"] == session.arn
    assert creds["Expiration"] == session.expires_at
    ecr = fake_aws.env.client("ecr", temporary_key(creds))
    ecr.get_authorization_token(registryIds=["444455556666"])
    assume_call, ecr_call = fake_aws.calls
    assert (assume_call.access_key_id, assume_call.role_arn, assume_call.external_id,
            assume_call.role_session_name, assume_call.duration_seconds) == (
        PLATFORM_KEY.access_key_id, fake_aws.customer_role.arn, EXTERNAL_ID, "rc-check", 900)
    assert ecr_call.access_key_id == creds["AccessKeyId"] and ecr_call.sent_session_token
    assert fake_aws.last_token.access_key_id == creds["AccessKeyId"]


def test_fake_never_records_a_secret(fake_aws: FakeAWS):
    creds = assume(fake_aws.env, fake_aws.customer_role.arn)["Credentials"]
    fake_aws.env.client("ecr", temporary_key(creds)).get_authorization_token()
    wrong = AccessKey(fake_aws.customer_key.access_key_id, "a-wrong-secret-0000", "x")
    with pytest.raises(ClientError):
        fake_aws.env.client("ecr", wrong).get_authorization_token()
    recorded = repr(fake_aws.calls.snapshot()) + repr(fake_aws.requests.snapshot())
    recorded += repr(fake_aws.sessions_issued) + repr(fake_aws.tokens_issued)
    for secret in (PLATFORM_KEY.secret_access_key, creds["SecretAccessKey"],
                   creds["SessionToken"], "a-wrong-secret-0000", fake_aws.last_token.password):
        assert secret not in recorded
    assert "Signature=" not in recorded and "Credential=" not in recorded  # the scheme only
    for request in fake_aws.requests:
        assert not {"authorization", "x-amz-security-token"} & set(request.headers)


# --- the fake: every refusal, as botocore sees it -----------------------------------------------


REFUSALS = [("AssumeRole", code) for code in STS_ERRORS] + [
    ("GetAuthorizationToken", code) for code in ECR_ERRORS
]


@pytest.mark.parametrize(("action", "code"), REFUSALS, ids=[f"{a}-{c}" for a, c in REFUSALS])
def test_fake_scripted_refusal(fake_aws: FakeAWS, action: str, code: str):
    fake_aws.refuse(action, code)
    expected_status = (STS_ERRORS if action == "AssumeRole" else ECR_ERRORS)[code][0]
    with pytest.raises(ClientError) as refused:
        if action == "AssumeRole":
            assume(fake_aws.env, fake_aws.customer_role.arn)
        else:
            fake_aws.env.client("ecr", fake_aws.customer_key).get_authorization_token()
    assert error_of(refused) == (code, expected_status)
    assert refused.value.response["Error"]["Message"]
    assert fake_aws.calls[-1].error_code == code


def test_fake_refuses_a_wrong_or_missing_external_id_and_an_untrusted_caller(fake_aws: FakeAWS):
    role = fake_aws.customer_role.arn
    for external_id in ("rc-ext-someone-elses", None):
        with pytest.raises(ClientError) as refused:
            assume(fake_aws.env, role, external_id=external_id)
        assert error_of(refused) == ("AccessDenied", 403)
        assert f"sts:AssumeRole on resource: {role}" in refused.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as untrusted:
        fake_aws.env.client("sts", fake_aws.customer_key).assume_role(
            RoleArn=role, RoleSessionName="rc-check", ExternalId=EXTERNAL_ID)
    assert error_of(untrusted) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as no_such_role:
        assume(fake_aws.env, f"arn:aws:iam::444455556666:role/{uuid.uuid4().hex[:8]}")
    assert error_of(no_such_role) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as too_long:
        assume(fake_aws.env, role, DurationSeconds=7200)
    assert error_of(too_long) == ("ValidationError", 400)
    with pytest.raises(ClientError) as bad_name:  # botocore lets it through, AWS does not
        assume(fake_aws.env, role, RoleSessionName="acme corp")
    assert error_of(bad_name) == ("ValidationError", 400)
    assert "'roleSessionName' failed to satisfy constraint" in bad_name.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("service", "expected"),
    [("sts", ("InvalidClientTokenId", "SignatureDoesNotMatch")),
     ("ecr", ("UnrecognizedClientException", "InvalidSignatureException"))],
)
def test_fake_checks_keys_and_signatures(fake_aws: FakeAWS, service: str, expected):
    def call(key: AccessKey):
        client = fake_aws.env.client(service, key)
        return client.get_caller_identity() if service == "sts" else client.get_authorization_token()

    good = fake_aws.customer_key
    unknown = AccessKey("AKIAUNKNOWNKEY000001", good.secret_access_key, good.arn)
    wrong_secret = AccessKey(good.access_key_id, good.secret_access_key + "x", good.arn)
    for key, code in ((unknown, expected[0]), (wrong_secret, expected[1])):
        with pytest.raises(ClientError) as refused:
            call(key)
        assert error_of(refused)[0] == code
    call(good)
    fake_aws.remove_access_key(good)  # the customer deleted the key in IAM
    with pytest.raises(ClientError) as deleted:
        call(good)
    assert error_of(deleted)[0] == expected[0]


def test_fake_ecr_permission_and_temporary_credentials(fake_aws: FakeAWS):
    env = fake_aws.env
    with pytest.raises(ClientError) as platform_direct:  # skipping AssumeRole gets nowhere
        env.client("ecr").get_authorization_token(registryIds=["444455556666"])
    assert error_of(platform_direct) == ("AccessDeniedException", 400)
    key = temporary_key(assume(env, fake_aws.customer_role.arn)["Credentials"])
    fake_aws.allow_ecr(fake_aws.customer_role.arn, False)  # the role lost its ECR policy
    with pytest.raises(ClientError) as no_policy:
        env.client("ecr", key).get_authorization_token()
    assert error_of(no_policy) == ("AccessDeniedException", 400)
    assert "ecr:GetAuthorizationToken" in no_policy.value.response["Error"]["Message"]
    fake_aws.allow_ecr(fake_aws.customer_role.arn)
    without_token = AccessKey(key.access_key_id, key.secret_access_key, key.arn)
    with pytest.raises(ClientError) as tokenless:
        env.client("ecr", without_token).get_authorization_token()
    assert error_of(tokenless)[0] == "UnrecognizedClientException"
    with pytest.raises(ClientError) as bad_id:
        env.client("ecr", key).get_authorization_token(registryIds=["not-an-account"])
    assert error_of(bad_id)[0] == "InvalidParameterException"
    env.client("ecr", key).get_authorization_token()
    fake_aws.expire_temporary_credentials()
    with pytest.raises(ClientError) as expired:
        env.client("ecr", key).get_authorization_token()
    assert error_of(expired)[0] == "ExpiredTokenException"


def test_fake_unknown_region_and_unreachable_endpoint(fake_aws: FakeAWS, aws_unreachable_url):
    env = fake_aws.env
    for service, code in (("sts", "SignatureDoesNotMatch"), ("ecr", "InvalidSignatureException")):
        client = env.client(service, fake_aws.customer_key, region="xx-nowhere-1")
        with pytest.raises(ClientError) as refused:
            client.get_caller_identity() if service == "sts" else client.get_authorization_token()
        assert error_of(refused)[0] == code
        assert "scoped to a valid region, not 'xx-nowhere-1'" in refused.value.response["Error"]["Message"]
    env.point_at(aws_unreachable_url, service="ecr")  # a region whose endpoint does not exist
    with loopback_only() as attempts, pytest.raises(EndpointConnectionError):
        env.client("ecr", fake_aws.customer_key, config=None).get_authorization_token()
    assert len(attempts.connects) > 1 and attempts.outside_loopback == []  # botocore retried (3)


# --- the fake: scripting ------------------------------------------------------------------------


def test_fake_scripts_password_and_expiry(fake_aws: FakeAWS):
    ecr = fake_aws.env.client("ecr", fake_aws.customer_key)
    fake_aws.script_ecr(password="pw-one", expires_in=dt.timedelta(minutes=5))
    (data,) = ecr.get_authorization_token()["authorizationData"]
    assert decode_authorization_token(data["authorizationToken"])[1] == "pw-one"
    assert dt.timedelta(minutes=4) < data["expiresAt"] - dt.datetime.now(UTC) <= dt.timedelta(minutes=5)
    moment = dt.datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    fake_aws.script_ecr(expires_at=moment)
    (data,) = ecr.get_authorization_token()["authorizationData"]
    assert data["expiresAt"] == moment
    assert decode_authorization_token(data["authorizationToken"])[1] == fake_aws.last_token.password
    fake_aws.script_ecr()
    first, second = (fake_aws.env.client("ecr", fake_aws.customer_key).get_authorization_token()
                     for _ in range(2))
    assert first["authorizationData"][0]["authorizationToken"] != second["authorizationData"][0]["authorizationToken"]


def test_fake_refusals_in_order_then_success_and_throttling_is_retried(fake_aws: FakeAWS):
    ecr = fake_aws.env.client("ecr", fake_aws.customer_key)
    fake_aws.refuse("GetAuthorizationToken", "UnrecognizedClientException", times=1)
    fake_aws.refuse("GetAuthorizationToken", "AccessDeniedException", times=1)
    codes = []
    for _ in range(3):
        try:
            ecr.get_authorization_token()
            codes.append("ok")
        except ClientError as error:
            codes.append(error.response["Error"]["Code"])
    assert codes == ["UnrecognizedClientException", "AccessDeniedException", "ok"]
    fake_aws.refuse("GetAuthorizationToken", "ThrottlingException", times=1)
    mark = fake_aws.calls.mark()
    fake_aws.env.client("ecr", fake_aws.customer_key, config=None).get_authorization_token()
    assert [c.error_code for c in fake_aws.calls.since(mark)] == ["ThrottlingException", None]
    with pytest.raises(ValueError, match="does not answer"):
        fake_aws.refuse("AssumeRole", "AccessDeniedException")  # ECR's code, not STS's


def test_fake_delay_makes_a_read_timeout(fake_aws: FakeAWS):
    fake_aws.delay("GetAuthorizationToken", 2)
    slow = Config(retries={"total_max_attempts": 1}, read_timeout=0.3, connect_timeout=1)
    with pytest.raises(ReadTimeoutError):
        fake_aws.env.client("ecr", fake_aws.customer_key, config=slow).get_authorization_token()


def test_both_emulators_in_one_test(aws_env: AwsEnv, fake_aws: FakeAWS, moto_server: MotoServer):
    """With both fixtures the fake holds AWS_ENDPOINT_URL; route a service back to moto."""
    assert fake_aws.env is aws_env and aws_env.endpoint_url == fake_aws.url
    aws_env.point_at(moto_server.url, service="sts")
    creds = assume(aws_env, ROLE_ARN, external_id="anything")["Credentials"]  # moto: no checks
    assert creds["AccessKeyId"].startswith("ASIA") and not fake_aws.calls


# --- the end of the chain: a real registry and skopeo -------------------------------------------


def _basic_v2(registry: RunningRegistry, password: str) -> int:
    with requests.Session() as http:
        http.trust_env = False
        response = http.get(f"{registry.url}/v2/", auth=("AWS", password),
                            verify=registry.ca_file, timeout=5)
        return response.status_code


def test_moto_password_pulls_from_a_real_registry(
    aws_env: AwsEnv, htpasswd_registry: RunningRegistry, skopeo: Skopeo
):
    repo = f"ecr/{uuid.uuid4().hex[:8]}"
    pushed = skopeo.copy_test_image(htpasswd_registry, repo)
    assert pushed.ok, pushed.output
    key = temporary_key(assume(aws_env, ROLE_ARN)["Credentials"])
    (data,) = aws_env.client("ecr", key).get_authorization_token(registryIds=[CUSTOMER])[
        "authorizationData"
    ]
    username, password = decode_authorization_token(data["authorizationToken"])
    enroll_ecr_password(htpasswd_registry, password)
    pulled = skopeo.inspect(f"{htpasswd_registry.host_port}/{repo}:v1", creds=(username, password),
                            cert_dir=htpasswd_registry.cert_dir)
    assert pulled.ok, pulled.output
    assert pulled.digest == pushed.digest
    refused = skopeo.inspect(f"{htpasswd_registry.host_port}/{repo}:v1", creds=(username, "nope"),
                             cert_dir=htpasswd_registry.cert_dir)
    assert not refused.ok


def test_renewed_fake_password_replaces_the_old_one_at_the_registry(
    fake_aws: FakeAWS, htpasswd_registry: RunningRegistry, skopeo: Skopeo
):
    ecr = fake_aws.env.client("ecr", fake_aws.customer_key)
    ecr.get_authorization_token()
    old = fake_aws.last_token.password
    enroll_ecr_password(htpasswd_registry, old)
    assert _basic_v2(htpasswd_registry, old) == 200
    ecr.get_authorization_token()  # renewal: a new 12-hour password
    new = fake_aws.last_token.password
    assert new[:72] != old[:72]  # bcrypt's 72 bytes tell them apart
    enroll_ecr_password(htpasswd_registry, new)
    assert _basic_v2(htpasswd_registry, new) == 200
    assert _basic_v2(htpasswd_registry, old) == 401
    repo = f"ecr/{uuid.uuid4().hex[:8]}"
    assert skopeo.copy_test_image(htpasswd_registry, repo).ok
    pulled = skopeo.inspect(f"{htpasswd_registry.host_port}/{repo}:v1", creds=("AWS", new),
                            cert_dir=htpasswd_registry.cert_dir)
    assert pulled.ok, pulled.output

