"""Minting an AWS ECR token with boto3: STS AssumeRole (role mode) or the stored access key, then
ECR GetAuthorizationToken for the registry's account. Never raises anything but `MintRefused`.

boto3 is the one outbound exception to the SSRF-safe session (README, security notes): its
endpoints are derived from a region validated against botocore's own partition data
(`providers.aws_ecr.parse_host`), never from user input; the standard `AWS_ENDPOINT_URL`
variables point it at an emulator in tests. The platform's own identity (role mode) comes from
boto3's standard credential chain, never from a form; a customer's access key pair is given to
the client explicitly and both halves are checked first (with one of them None, boto3 would fall
back to the platform's identity). Nothing here logs or raises with a secret, a session token or
the minted password in it; AWS's messages are not passed on verbatim.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .providers import aws_ecr
from .statuses import Status

log = logging.getLogger(__name__)


class _NoBotocoreDebug(logging.Filter):
    """botocore's DEBUG records hold what must never reach a log: response bodies (the minted
    token, AssumeRole's temporary credentials), signed headers (a session token). Dropped at
    the logger that makes them, whatever level the operator sets."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO


_QUIET = _NoBotocoreDebug()
#: botocore's loggers that put request or response contents into DEBUG records.
BOTOCORE_LOGGERS = (
    "botocore",
    "botocore.auth",
    "botocore.credentials",
    "botocore.endpoint",
    "botocore.hooks",
    "botocore.httpsession",
    "botocore.parsers",
    "botocore.regions",
    "botocore.retries.standard",
    "botocore.retryhandler",
    "botocore.utils",
)
for _name in BOTOCORE_LOGGERS:
    logging.getLogger(_name).addFilter(_QUIET)

__all__ = ["AwsSignIn", "MintRefused", "MintedToken", "mint"]


@dataclass(frozen=True)
class AwsSignIn:
    """How to mint one registry's token: its host (account, region, partition) and either the
    role to assume (with the registry's external ID and session name) or a key pair."""

    host: aws_ecr.EcrHost
    mode: str
    role_arn: str | None = None
    external_id: str | None = None
    session_name: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class MintedToken:
    """The Basic password for user `AWS`, and when AWS says it expires (None: not said)."""

    password: str = field(repr=False)
    expires_at: datetime | None


class MintRefused(Exception):
    """No token: `status` and `reason` are the check's (the reason names no secret)."""

    def __init__(self, status: Status, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


_INVALID_KEY = {
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
}
_EXPIRED = {"ExpiredToken", "ExpiredTokenException"}
_THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException"}


def _config(deadline_seconds: float):  # type: ignore[no-untyped-def]
    from botocore.config import Config

    return Config(
        connect_timeout=max(1.0, deadline_seconds / 4),
        read_timeout=max(1.0, deadline_seconds / 3),
        retries={"mode": "standard", "total_max_attempts": 2},
    )


def mint(sign_in: AwsSignIn, deadline_seconds: float) -> MintedToken:
    """A fresh token for `sign_in`, or `MintRefused` with the check's status and reason."""
    host = sign_in.host
    if aws_ecr.partition_of_region(host.region) != host.partition:
        raise MintRefused(
            Status.NOT_A_REGISTRY,
            f"AWS has no region {host.region} with ECR that the platform knows of.",
        )
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
    except ImportError:  # pragma: no cover - boto3 is a runtime dependency
        raise MintRefused(
            Status.ERROR, "The platform cannot reach AWS (boto3 is missing)."
        ) from None
    config = _config(deadline_seconds)
    session = boto3.session.Session()
    stage = "sts"
    try:
        if sign_in.mode == aws_ecr.ROLE:
            if not sign_in.role_arn or not sign_in.external_id or not sign_in.session_name:
                raise MintRefused(Status.ERROR, "The registry has no IAM role to assume.")
            sts = session.client("sts", region_name=host.region, config=config)
            answer = sts.assume_role(
                RoleArn=sign_in.role_arn,
                RoleSessionName=sign_in.session_name,
                ExternalId=sign_in.external_id,
                DurationSeconds=aws_ecr.SESSION_SECONDS,
            )
            creds = answer["Credentials"]
            keys = {
                "aws_access_key_id": creds["AccessKeyId"],
                "aws_secret_access_key": creds["SecretAccessKey"],
                "aws_session_token": creds["SessionToken"],
            }
            del answer, creds
        else:
            if not sign_in.access_key_id or not sign_in.secret_access_key:
                # Never let boto3 fall back to the platform's own identity.
                raise MintRefused(Status.AUTH_FAILED, "The access key ID or its secret is missing.")
            keys = {
                "aws_access_key_id": sign_in.access_key_id,
                "aws_secret_access_key": sign_in.secret_access_key,
                "aws_session_token": None,
            }
        stage = "ecr"
        ecr_client = session.client("ecr", region_name=host.region, config=config, **keys)
        del keys
        data = ecr_client.get_authorization_token(registryIds=[host.account])["authorizationData"]
    except MintRefused:
        raise
    except NoCredentialsError:
        raise MintRefused(
            Status.ERROR,
            "The platform has no AWS identity of its own to assume the role with. Ask your "
            "platform operator to give it one (AWS_PLATFORM_ROLE_ARN).",
        ) from None
    except ClientError as error:
        raise _refusal(sign_in, stage, error) from None
    except BotoCoreError as error:
        log.info("AWS %s call for ECR failed (%s)", stage, type(error).__name__)
        raise MintRefused(
            Status.UNREACHABLE,
            f"AWS ({'STS' if stage == 'sts' else 'ECR'} in {host.region}) could not be reached "
            "from the platform.",
        ) from None
    return _token_of(data)


def _token_of(data: list) -> MintedToken:
    try:
        item = data[0]
        username, _, password = (
            base64.b64decode(item["authorizationToken"], validate=True).decode().partition(":")
        )
    except (IndexError, KeyError, TypeError, ValueError, binascii.Error, UnicodeDecodeError):
        raise MintRefused(Status.ERROR, "ECR answered without a usable token.") from None
    if username != "AWS" or not password:
        raise MintRefused(Status.ERROR, "ECR answered without a usable token.")
    expires = item.get("expiresAt")
    expires_at = expires.astimezone(UTC) if isinstance(expires, datetime) else None
    return MintedToken(password, expires_at)


def _refusal(sign_in: AwsSignIn, stage: str, error) -> MintRefused:  # type: ignore[no-untyped-def]
    code = str(error.response.get("Error", {}).get("Code", ""))
    message = str(error.response.get("Error", {}).get("Message", ""))
    log.info("AWS %s refused minting an ECR token: %s", stage, code)
    host = sign_in.host
    if "valid region" in message or code in ("RegionDisabledException", "InvalidRegion"):
        return MintRefused(
            Status.NOT_A_REGISTRY,
            f"AWS does not accept the region {host.region} for this account: check the "
            "registry URL (or enable the region in the account).",
        )
    if code in _THROTTLED:
        return MintRefused(Status.RATE_LIMITED, "AWS is limiting requests; the next check retries.")
    if code in _EXPIRED:
        return MintRefused(
            Status.ERROR, "AWS says the temporary credentials expired before use; Check now again."
        )
    if stage == "sts":
        if code == "AccessDenied":
            return MintRefused(
                Status.AUTH_FAILED,
                f"AWS refused to let the platform assume the role {sign_in.role_arn}: the role's "
                "trust policy does not name the platform, or its external ID is not this "
                "registry's. Paste the trust policy shown on this registry's page.",
            )
        if code in _INVALID_KEY:
            return MintRefused(
                Status.ERROR,
                "AWS does not accept the platform's own AWS identity. Ask your platform "
                "operator to check it.",
            )
        return MintRefused(Status.ERROR, f"AWS STS refused the role ({code or 'no code'}).")
    if code in _INVALID_KEY:
        if sign_in.mode == aws_ecr.ACCESS_KEY:
            return MintRefused(
                Status.AUTH_FAILED,
                f"AWS does not accept the access key {sign_in.access_key_id}: it was deleted or "
                "deactivated, or the secret access key does not belong to it.",
            )
        return MintRefused(Status.ERROR, "AWS did not accept the role's temporary credentials.")
    if code == "AccessDeniedException":
        who = "role" if sign_in.mode == aws_ecr.ROLE else "access key's user"
        return MintRefused(
            Status.MISSING_SCOPE,
            f"The {who} may not call ecr:GetAuthorizationToken. Attach the permissions policy "
            "shown on this registry's page.",
        )
    if code == "InvalidParameterException":
        return MintRefused(
            Status.NOT_A_REGISTRY, f"ECR does not accept the account {host.account}."
        )
    return MintRefused(Status.ERROR, f"ECR refused the token ({code or 'no code'}).")
