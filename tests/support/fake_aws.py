"""A local fake of the two AWS calls an ECR registry needs, for what moto cannot do: refuse like
AWS, expire, and mint realistic tokens.

``FakeAWS`` is one threaded HTTPS server on 127.0.0.1 (session test CA; boto3 trusts it through
``AWS_CA_BUNDLE``) that answers both services at one URL, as moto does, so ``AWS_ENDPOINT_URL``
alone points boto3 at it:

* STS ``AssumeRole`` (and ``GetCallerIdentity``): query protocol, form-encoded POST, XML answers,
  XML ``<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>``.
* ECR ``GetAuthorizationToken``: JSON 1.1, ``X-Amz-Target:
  AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken``, errors ``{"__type", "message"}``
  (status 400, 500 for ``ServerException``) with ``x-amzn-ErrorType``.

It checks requests the way AWS does, so a wrong input fails on its own: the SigV4 credential scope
(region among botocore's known regions, service), the access key, the session token of temporary
credentials and their expiry, the signature itself (recomputed with the secret it knows), then the
role's trust (principal and ``sts:ExternalId``), the role's ``MaxSessionDuration``, ECR permission
and ``registryIds``. Tests can also force any listed error (``refuse``), slow an answer
(``delay``), or script the next tokens (``script_ecr``). See tests/support/registry_fixtures.py
for the fixture and the scripting API.

Requests are recorded as ``AwsCall``s with only non-secret fields: never a secret key, a session
token, the Authorization header or a signature (the access key ID is an identifier, not a secret).
Minted ECR tokens are the fake's own output and are kept in ``tokens_issued`` for assertions.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import hashlib
import hmac
import json
import re
import secrets
import string
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote, unquote
from xml.sax.saxutils import escape

import boto3

from tests.support.aws import CUSTOMER_ACCOUNT, PLATFORM_KEY, AccessKey, AwsEnv
from tests.support.pki import TestCA
from tests.support.token_server import HTTPSServer, Request, RequestLog, Response

__all__ = [
    "AwsCall",
    "ECR_ERRORS",
    "EXTERNAL_ID",
    "FakeAWS",
    "IssuedSession",
    "IssuedToken",
    "Role",
    "STS_ERRORS",
]

STS_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"
ECR_TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921."
EXTERNAL_ID = "rc-ext-9f1c2e7a-5b1d-4c7e-8a0f-3d2b6c4e1a90"
DEFAULT_SESSION_SECONDS = 3600
ECR_LIFETIME = dt.timedelta(hours=12)

_BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
)
_INVALID_TOKEN = "The security token included in the request is invalid."
_EXPIRED_TOKEN = "The security token included in the request is expired"

# code -> (HTTP status, message template). Templates may use {principal} {role} {account}
# {region} {service} {action}.
STS_ERRORS: dict[str, tuple[int, str]] = {
    "AccessDenied": (
        403, "User: {principal} is not authorized to perform: sts:AssumeRole on resource: {role}"
    ),
    "InvalidClientTokenId": (403, _INVALID_TOKEN),
    "SignatureDoesNotMatch": (403, _BAD_SIGNATURE),
    "ExpiredToken": (403, _EXPIRED_TOKEN),
    "MissingAuthenticationToken": (403, "Request is missing Authentication Token"),
    "RegionDisabledException": (
        403,
        "STS is not activated in this region for account:{account}. Your account administrator "
        "can activate STS in this region using the IAM Console.",
    ),
    "ValidationError": (  # also: a RoleSessionName or ExternalId outside the model's pattern
        400, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    ),
    "Throttling": (400, "Rate exceeded"),
    "InvalidAction": (400, "Could not find operation {action} for version 2011-06-15"),
}
ECR_ERRORS: dict[str, tuple[int, str]] = {
    "AccessDeniedException": (
        400,
        "User: {principal} is not authorized to perform: ecr:GetAuthorizationToken on resource: "
        "* because no identity-based policy allows the ecr:GetAuthorizationToken action",
    ),
    "UnrecognizedClientException": (400, _INVALID_TOKEN),
    "InvalidSignatureException": (400, _BAD_SIGNATURE),
    "ExpiredTokenException": (400, _EXPIRED_TOKEN),
    "MissingAuthenticationTokenException": (400, "Missing Authentication Token"),
    "InvalidParameterException": (
        400,
        "Invalid parameter at 'registryIds' failed to satisfy constraint: 'Member must satisfy "
        "regular expression pattern: [0-9]{{12}}'",
    ),
    "ThrottlingException": (400, "Rate exceeded"),
    "ServerException": (500, "We encountered an internal error. Please try again."),
    "UnknownOperationException": (400, "Unknown operation {action}"),
}
# The same failure as each service names it.
_CODES = {
    "invalid_token": {"sts": "InvalidClientTokenId", "ecr": "UnrecognizedClientException"},
    "bad_signature": {"sts": "SignatureDoesNotMatch", "ecr": "InvalidSignatureException"},
    "expired": {"sts": "ExpiredToken", "ecr": "ExpiredTokenException"},
    "anonymous": {"sts": "MissingAuthenticationToken", "ecr": "MissingAuthenticationTokenException"},
    "unknown_action": {"sts": "InvalidAction", "ecr": "UnknownOperationException"},
}
ACTIONS = {"sts": ("AssumeRole", "GetCallerIdentity"), "ecr": ("GetAuthorizationToken",)}
_SERVICE_OF = {action: service for service, names in ACTIONS.items() for action in names}
_STS_RECORDED = ("RoleArn", "RoleSessionName", "ExternalId", "DurationSeconds")
_STS_PATTERNS = {"RoleSessionName": r"[\w+=,.@-]*", "ExternalId": r"[\w+=,.@:\/-]*"}  # the model's
_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request,\s*SignedHeaders=(?P<signed>[^,\s]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)
_ID_CHARS = string.ascii_uppercase + string.digits


@functools.cache
def _known_regions() -> frozenset[str]:
    session = boto3.session.Session()
    return frozenset(session.get_available_regions("ecr")) | frozenset(
        session.get_available_regions("sts")
    )


def _random_id(prefix: str, length: int) -> str:
    return prefix + "".join(secrets.choice(_ID_CHARS) for _ in range(length))


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- what the fake knows and records ----------------------------------------------------------


@dataclass
class Role:
    """An IAM role in a customer account. Change the fields to change what AWS would answer."""

    arn: str
    external_id: str | None  # the trust policy's sts:ExternalId condition; None = no condition
    trusted: tuple[str, ...]  # principal ARNs the trust policy names
    max_session_duration: int = DEFAULT_SESSION_SECONDS

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    @property
    def name(self) -> str:
        return self.arn.rsplit("/", 1)[1]


@dataclass(frozen=True)
class IssuedSession:
    """Temporary credentials the fake handed out (the key ID only)."""

    access_key_id: str
    role_arn: str
    session_name: str
    arn: str  # arn:aws:sts::<account>:assumed-role/<role>/<session>
    expires_at: dt.datetime


@dataclass(frozen=True)
class IssuedToken:
    """One ``GetAuthorizationToken`` answer: the Docker login it stands for."""

    password: str = field(repr=False)
    authorization_token: str = field(repr=False)  # base64 "AWS:<password>"
    expires_at: dt.datetime
    registry_ids: tuple[str, ...]
    region: str
    proxy_endpoints: tuple[str, ...]
    access_key_id: str  # who asked (an identifier, not a secret)

    @property
    def username(self) -> str:
        return "AWS"


@dataclass(frozen=True)
class AwsCall:
    """One request as the fake saw it. Only non-secret fields."""

    service: str  # "sts" | "ecr"
    action: str
    region: str | None  # the SigV4 credential scope's region
    access_key_id: str | None
    sent_session_token: bool
    params: Mapping[str, object]  # RoleArn RoleSessionName ExternalId DurationSeconds | registryIds
    status: int
    error_code: str | None
    time: float

    @property
    def ok(self) -> bool:
        return self.error_code is None

    @property
    def role_arn(self) -> str | None:
        return self.params.get("RoleArn")  # type: ignore[return-value]

    @property
    def role_session_name(self) -> str | None:
        return self.params.get("RoleSessionName")  # type: ignore[return-value]

    @property
    def external_id(self) -> str | None:
        return self.params.get("ExternalId")  # type: ignore[return-value]

    @property
    def duration_seconds(self) -> int | None:
        return self.params.get("DurationSeconds")  # type: ignore[return-value]

    @property
    def registry_ids(self) -> tuple[str, ...] | None:
        return self.params.get("registryIds")  # type: ignore[return-value]


class CallLog(RequestLog):
    """Thread-safe list of ``AwsCall`` (``len``, iteration, ``[i]``, ``mark()``/``since()``)."""

    def matching(self, *, action: str | None = None, service: str | None = None,  # type: ignore[override]
                 ok: bool | None = None) -> list[AwsCall]:
        return [
            c
            for c in self.snapshot()
            if (action is None or c.action == action)
            and (service is None or c.service == service)
            and (ok is None or c.ok == ok)
        ]


@dataclass
class _Principal:
    key: AccessKey
    role_arn: str | None = None  # temporary credentials from AssumeRole
    expires_at: dt.datetime | None = None


@dataclass
class _Refusal:
    code: str
    message: str | None
    remaining: int | None  # None: until cleared


class _Refused(Exception):
    def __init__(self, code: str, **context: str) -> None:
        super().__init__(code)
        self.code = code
        self.context = context


# --- SigV4 ------------------------------------------------------------------------------------


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sigv4_signature(secret: str, req: Request, headers: Mapping[str, str], auth: Mapping[str, str],
                    amz_date: str) -> str:
    """The signature AWS computes for ``req`` (AWS4-HMAC-SHA256, header-signed)."""
    signed = auth["signed"].split(";")
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
        for k, values in sorted(req.query.items())
        for v in sorted(values)
    )
    canonical_request = "\n".join([
        req.method,
        quote(unquote(req.path or "/"), safe="/~"),
        canonical_query,
        "".join(f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in signed),
        auth["signed"],
        hashlib.sha256(req.body).hexdigest(),
    ])
    scope = f"{auth['date']}/{auth['region']}/{auth['service']}/aws4_request"
    string_to_sign = "\n".join([
        "AWS4-HMAC-SHA256", amz_date, scope,
        hashlib.sha256(canonical_request.encode()).hexdigest(),
    ])
    key = ("AWS4" + secret).encode()
    for part in (auth["date"], auth["region"], auth["service"], "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


# --- the fake ---------------------------------------------------------------------------------


class FakeAWS(HTTPSServer):
    """STS + ECR on one ``https://127.0.0.1:PORT``. See the module docstring."""

    def __init__(self, ca: TestCA, platform: AccessKey = PLATFORM_KEY) -> None:
        super().__init__(ca, self._app, name="fake-aws")
        self.calls = CallLog()
        self.env: AwsEnv | None = None  # set by the fake_aws fixture: the isolated environment
        self.regions = _known_regions()
        self.tokens_issued: list[IssuedToken] = []
        self.sessions_issued: list[IssuedSession] = []
        self._state = threading.Lock()
        self._principals: dict[str, _Principal] = {}
        self._roles: dict[str, Role] = {}
        self._ecr_allowed: set[str] = set()
        self._refusals: dict[str, list[_Refusal]] = {}
        self._delays: dict[str, float] = {}
        self._ecr_password: str | None = None
        self._ecr_expires_at: dt.datetime | None = None
        self.ecr_lifetime = ECR_LIFETIME
        # The platform may assume customer roles but has no ECR rights of its own: a feature that
        # skipped AssumeRole gets AccessDeniedException, as it would from AWS.
        self.platform = self.add_access_key(platform, ecr_allowed=False)
        self.customer_key = self.add_access_key(account=CUSTOMER_ACCOUNT, user="ecr-pull")
        self.customer_role = self.add_role(
            f"arn:aws:iam::{CUSTOMER_ACCOUNT}:role/registry-connect-pull", external_id=EXTERNAL_ID
        )

    # -- identities -------------------------------------------------------------------------
    def add_access_key(self, key: AccessKey | None = None, *, account: str = CUSTOMER_ACCOUNT,
                       user: str | None = None, ecr_allowed: bool = True) -> AccessKey:
        """A long-term key pair AWS knows (a new random one for ``user`` unless ``key`` given)."""
        if key is None:
            key = AccessKey(
                access_key_id=_random_id("AKIA", 16),
                secret_access_key=secrets.token_urlsafe(30)[:40],
                arn=f"arn:aws:iam::{account}:user/{user or 'user-' + secrets.token_hex(3)}",
            )
        with self._state:
            self._principals[key.access_key_id] = _Principal(key)
            (self._ecr_allowed.add if ecr_allowed else self._ecr_allowed.discard)(key.arn)
        return key

    def remove_access_key(self, key: AccessKey | str) -> None:
        """The key is deleted in IAM: AWS answers InvalidClientTokenId / UnrecognizedClient."""
        key_id = key if isinstance(key, str) else key.access_key_id
        with self._state:
            self._principals.pop(key_id, None)

    def add_role(self, arn: str, *, external_id: str | None = EXTERNAL_ID,
                 trusted: Iterable[str] | None = None, ecr_allowed: bool = True,
                 max_session_duration: int = DEFAULT_SESSION_SECONDS) -> Role:
        """A role whose trust policy names ``trusted`` (default: the platform) and, unless None,
        requires ``sts:ExternalId`` = external_id; with ``ecr:GetAuthorizationToken`` unless
        ``ecr_allowed`` is False."""
        role = Role(arn, external_id, tuple(trusted or (self.platform.arn,)), max_session_duration)
        with self._state:
            self._roles[arn] = role
            (self._ecr_allowed.add if ecr_allowed else self._ecr_allowed.discard)(arn)
        return role

    def allow_ecr(self, arn: str, allowed: bool = True) -> None:
        """Grant or take away ``ecr:GetAuthorizationToken`` for a user or role ARN."""
        with self._state:
            (self._ecr_allowed.add if allowed else self._ecr_allowed.discard)(arn)

    def expire_temporary_credentials(self) -> None:
        """Every AssumeRole credential handed out so far is now past its Expiration."""
        past = _now() - dt.timedelta(seconds=1)
        with self._state:
            for principal in self._principals.values():
                if principal.expires_at is not None:
                    principal.expires_at = past

    # -- scripting --------------------------------------------------------------------------
    def refuse(self, action: str, code: str, *, times: int | None = None,
               message: str | None = None) -> None:
        """Answer ``action`` with ``code`` (a key of STS_ERRORS / ECR_ERRORS), ``times`` times
        (None: until ``clear_refusals``), before any other check."""
        service = _SERVICE_OF.get(action)
        if service is None:
            raise ValueError(f"unknown action {action!r}; one of {sorted(_SERVICE_OF)}")
        table = STS_ERRORS if service == "sts" else ECR_ERRORS
        if code not in table:
            raise ValueError(f"{service} does not answer {code!r}; one of {sorted(table)}")
        with self._state:
            self._refusals.setdefault(action, []).append(_Refusal(code, message, times))

    def clear_refusals(self) -> None:
        with self._state:
            self._refusals.clear()
            self._delays.clear()

    def delay(self, action: str, seconds: float) -> None:
        """Answer ``action`` only after ``seconds`` (interrupted when the server stops)."""
        with self._state:
            self._delays[action] = seconds

    def script_ecr(self, *, password: str | None = None, expires_at: dt.datetime | None = None,
                   expires_in: dt.timedelta | None = None) -> None:
        """What the next GetAuthorizationToken answers carry: a fixed ``password`` (default: a
        new realistic one each call) and ``expiresAt`` (absolute, or ``expires_in`` from each
        call; default 12 h from each call). Call with no argument to go back to the defaults."""
        with self._state:
            self._ecr_password = password
            self._ecr_expires_at = expires_at
            self.ecr_lifetime = expires_in if expires_in is not None else ECR_LIFETIME

    @property
    def last_token(self) -> IssuedToken:
        with self._state:
            if not self.tokens_issued:
                raise AssertionError("the fake has issued no ECR token")
            return self.tokens_issued[-1]

    # -- the protocol -----------------------------------------------------------------------
    def _app(self, req: Request) -> Response:
        target = req.headers.get("x-amz-target")
        if target is not None:
            service, action = "ecr", target.removeprefix(ECR_TARGET_PREFIX)
            try:
                body = json.loads(req.body or b"{}")
            except ValueError:
                body = {}
            ids = body.get("registryIds") if isinstance(body, dict) else None
            params = {"registryIds": tuple(map(str, ids))} if isinstance(ids, list) else {}
        else:
            service = "sts"
            form = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
            action = (form.get("Action") or [""])[0]
            params = {k: form[k][0] for k in _STS_RECORDED if k in form}
            if "DurationSeconds" in params:
                with contextlib.suppress(ValueError):  # botocore sends an int; keep odd text
                    params["DurationSeconds"] = int(params["DurationSeconds"])
        auth = _AUTH.match(req.authorization or "")
        try:
            response = self._handle(service, action, params, req, auth)
            code = None
        except _Refused as refused:
            code = refused.code
            response = self._error(service, refused)
        self.calls.append(AwsCall(
            service=service,
            action=action,
            region=auth["region"] if auth else None,
            access_key_id=auth["key"] if auth else None,
            sent_session_token="x-amz-security-token" in req.secret_headers,
            params=params,
            status=response.status,
            error_code=code,
            time=time.time(),
        ))
        with self._state:
            pause = self._delays.get(action, 0.0)
        if pause:
            self.stopping.wait(pause)
        return response

    def _handle(self, service: str, action: str, params: dict, req: Request,
                auth: re.Match[str] | None) -> Response:
        if action not in ACTIONS[service]:
            raise _Refused(_CODES["unknown_action"][service], action=action)
        self._scripted_refusal(action, self._claimed_principal(auth), str(params.get("RoleArn", "")))
        principal = self._authenticate(service, req, auth)
        if action == "AssumeRole":
            return self._assume_role(principal, params)
        if action == "GetCallerIdentity":
            return self._caller_identity(principal)
        return self._authorization_token(principal, params, auth["region"])  # type: ignore[index]

    def _claimed_principal(self, auth: re.Match[str] | None) -> str:
        """Whom the request claims to come from (not verified yet), for error messages."""
        with self._state:
            principal = self._principals.get(auth["key"]) if auth else None
        return principal.key.arn if principal else f"arn:aws:iam::{CUSTOMER_ACCOUNT}:user/unknown"

    def _scripted_refusal(self, action: str, principal: str, role: str) -> None:
        with self._state:
            queue = self._refusals.get(action) or []
            if not queue:
                return
            refusal = queue[0]
            if refusal.remaining is not None:
                refusal.remaining -= 1
                if refusal.remaining <= 0:
                    queue.pop(0)
        raise _Refused(refusal.code, message=refusal.message or "", principal=principal, role=role)

    def _authenticate(self, service: str, req: Request, auth: re.Match[str] | None) -> _Principal:
        if auth is None:
            raise _Refused(_CODES["anonymous"][service])
        if auth["region"] not in self.regions:
            raise _Refused(
                _CODES["bad_signature"][service],
                message=f"Credential should be scoped to a valid region, not '{auth['region']}'. ",
            )
        if auth["service"] != service:
            raise _Refused(
                _CODES["bad_signature"][service],
                message=f"Credential should be scoped to correct service: '{service}'. ",
            )
        with self._state:
            principal = self._principals.get(auth["key"])
        sent_token = req.secret_headers.get("x-amz-security-token")
        expected_token = principal.key.session_token if principal else None
        if principal is None or (sent_token is None) != (expected_token is None) or (
            sent_token is not None
            and not hmac.compare_digest(sent_token.encode(), expected_token.encode())  # type: ignore[union-attr]
        ):
            raise _Refused(_CODES["invalid_token"][service])
        if principal.expires_at is not None and principal.expires_at <= _now():
            raise _Refused(_CODES["expired"][service])
        headers = {**req.headers, **req.secret_headers}
        amz_date = headers.get("x-amz-date", "")
        expected = sigv4_signature(principal.key.secret_access_key, req, headers, auth, amz_date)
        if not hmac.compare_digest(expected, auth["signature"]):
            raise _Refused(_CODES["bad_signature"][service])
        return principal

    def _assume_role(self, principal: _Principal, params: dict) -> Response:
        for name, pattern in _STS_PATTERNS.items():  # botocore checks lengths only, AWS these
            value = params.get(name)
            if isinstance(value, str) and not re.fullmatch(pattern, value, re.ASCII):
                raise _Refused("ValidationError", message=(
                    f"1 validation error detected: Value '{value}' at "
                    f"'{name[0].lower() + name[1:]}' failed to satisfy constraint: Member must "
                    f"satisfy regular expression pattern: {pattern}"
                ))
        role_arn = str(params.get("RoleArn", ""))
        with self._state:
            role = self._roles.get(role_arn)
        wanted = role.external_id if role else None
        given = params.get("ExternalId")
        trusted = (
            role is not None
            and principal.key.arn in role.trusted
            and (wanted is None or (isinstance(given, str)
                                    and hmac.compare_digest(given.encode(), wanted.encode())))
        )
        if not trusted:  # AWS says the same for a missing role, an untrusted caller, a wrong ID
            raise _Refused("AccessDenied", principal=principal.key.arn, role=role_arn)
        duration = params.get("DurationSeconds", DEFAULT_SESSION_SECONDS)
        if not isinstance(duration, int) or duration > role.max_session_duration:  # type: ignore[union-attr]
            raise _Refused("ValidationError")
        session_name = str(params.get("RoleSessionName", ""))
        expires_at = (_now() + dt.timedelta(seconds=duration)).replace(microsecond=0)
        arn = f"arn:aws:sts::{role.account}:assumed-role/{role.name}/{session_name}"  # type: ignore[union-attr]
        key = AccessKey(_random_id("ASIA", 16), secrets.token_urlsafe(30)[:40], arn,
                        session_token=base64.b64encode(secrets.token_bytes(300)).decode())
        with self._state:
            self._principals[key.access_key_id] = _Principal(key, role_arn, expires_at)
            self.sessions_issued.append(
                IssuedSession(key.access_key_id, role_arn, session_name, arn, expires_at)
            )
        role_id = f"{_random_id('AROA', 17)}:{session_name}"
        return self._sts_ok("AssumeRole", (
            f"<AssumedRoleUser><AssumedRoleId>{escape(role_id)}</AssumedRoleId>"
            f"<Arn>{escape(arn)}</Arn></AssumedRoleUser>"
            f"<Credentials><AccessKeyId>{key.access_key_id}</AccessKeyId>"
            f"<SecretAccessKey>{escape(key.secret_access_key)}</SecretAccessKey>"
            f"<SessionToken>{escape(key.session_token or '')}</SessionToken>"
            f"<Expiration>{_iso(expires_at)}</Expiration></Credentials>"
        ))

    def _caller_identity(self, principal: _Principal) -> Response:
        key = principal.key
        user_id = key.access_key_id if principal.role_arn is None else key.arn.rsplit("/", 1)[1]
        return self._sts_ok("GetCallerIdentity", (
            f"<Arn>{escape(key.arn)}</Arn><UserId>{escape(user_id)}</UserId>"
            f"<Account>{key.account}</Account>"
        ))

    def _authorization_token(self, principal: _Principal, params: dict, region: str) -> Response:
        policy_holder = principal.role_arn or principal.key.arn
        with self._state:
            allowed = policy_holder in self._ecr_allowed
        if not allowed:
            raise _Refused("AccessDeniedException", principal=principal.key.arn)
        registry_ids = params.get("registryIds") or (principal.key.account,)
        if any(not re.fullmatch(r"[0-9]{12}", r) for r in registry_ids):
            raise _Refused("InvalidParameterException")
        now = _now()
        with self._state:
            expires_at = self._ecr_expires_at or now + self.ecr_lifetime
            password = self._ecr_password or _realistic_password(expires_at)
        token = base64.b64encode(f"AWS:{password}".encode()).decode()
        endpoints = tuple(f"https://{r}.dkr.ecr.{region}.amazonaws.com" for r in registry_ids)
        with self._state:
            self.tokens_issued.append(IssuedToken(
                password, token, expires_at, tuple(registry_ids), region, endpoints,
                principal.key.access_key_id,
            ))
        body = {"authorizationData": [
            {"authorizationToken": token, "expiresAt": expires_at.timestamp(),
             "proxyEndpoint": endpoint}
            for endpoint in endpoints
        ]}
        return Response(200, [("Content-Type", "application/x-amz-json-1.1"),
                              ("x-amzn-RequestId", str(uuid.uuid4()))], json.dumps(body).encode())

    # -- wire formats -----------------------------------------------------------------------
    @staticmethod
    def _sts_ok(action: str, result: str) -> Response:
        body = (
            f'<{action}Response xmlns="{STS_XMLNS}"><{action}Result>{result}</{action}Result>'
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            f"</{action}Response>"
        )
        return Response(200, [("Content-Type", "text/xml"), ("x-amzn-RequestId", str(uuid.uuid4()))],
                        body.encode())

    @staticmethod
    def _error(service: str, refused: _Refused) -> Response:
        table = STS_ERRORS if service == "sts" else ECR_ERRORS
        status, template = table[refused.code]
        context = {"principal": "", "role": "", "account": CUSTOMER_ACCOUNT, "action": "",
                   **refused.context}
        message = context.pop("message", "") or template.format(**context)
        request_id = str(uuid.uuid4())
        if service == "ecr":
            return Response(status, [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("x-amzn-RequestId", request_id),
                ("x-amzn-ErrorType", f"{refused.code}:"),
            ], json.dumps({"__type": refused.code, "message": message}).encode())
        kind = "Receiver" if status >= 500 else "Sender"
        body = (
            f'<ErrorResponse xmlns="{STS_XMLNS}"><Error><Type>{kind}</Type>'
            f"<Code>{refused.code}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return Response(status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)],
                        body.encode())


def _realistic_password(expires_at: dt.datetime) -> str:
    """Like a real ECR password: base64 of a JSON envelope, ~1.7 KB, random from byte 16 on."""
    envelope = {
        "payload": base64.b64encode(secrets.token_bytes(760)).decode(),
        "datakey": base64.b64encode(secrets.token_bytes(200)).decode(),
        "version": "2",
        "type": "DATA_KEY",
        "expiration": int(expires_at.timestamp()),
    }
    return base64.b64encode(json.dumps(envelope, separators=(",", ":")).encode()).decode()
