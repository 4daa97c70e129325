"""AWS ECR: its hosts, its user, and the 12-hour lifetime of its passwords.

Today an ECR registry is a Docker Registry that this module recognises by its host: the user is
`AWS` and the password (`aws ecr get-login-password`) expires 12 hours after it is issued. The
dedicated AWS ECR type (an IAM role or an access key pair, tokens the platform mints and renews)
starts from here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from ..address import RegistryAddress

#: The DNS suffix of ECR registry hosts in each AWS partition.
PARTITION_SUFFIXES = {
    "aws": "amazonaws.com",
    "aws-us-gov": "amazonaws.com",
    "aws-cn": "amazonaws.com.cn",
    "aws-iso": "c2s.ic.gov",
    "aws-iso-b": "sc2s.sgov.gov",
    "aws-iso-e": "cloud.adc-e.uk",
    "aws-iso-f": "csp.hci.ic.gov",
    "aws-eusc": "amazonaws.eu",
}
# amazon-ecr-credential-helper's pattern (ecr-login/api/client.go), with every partition's
# suffix, matched on the whole (lowercased) host.
HOST_PATTERN = re.compile(
    r"(?P<account>[a-zA-Z0-9][a-zA-Z0-9_-]*)\.dkr\.ecr(?P<fips>-fips)?\."
    r"(?P<region>[a-zA-Z0-9][a-zA-Z0-9_-]*)\."
    r"(?P<suffix>" + "|".join(re.escape(s) for s in sorted(set(PARTITION_SUFFIXES.values()))) + ")"
)
#: ECR Public: public images, pulled with no credentials.
PUBLIC_HOST = "public.ecr.aws"
USERNAME = "AWS"
PASSWORD_LIFETIME = timedelta(hours=12)
#: The type that mints and renews ECR tokens itself (`aws_ecr`).
TYPE_KIND = "aws_ecr"
TYPE_LABEL = "AWS ECR"
#: Overrides every ECR registry host, in either type (tests: a local registry).
REGISTRY_URL_SETTING = "ECR_REGISTRY_URL"
EXPIRY_NOTE = (
    "An ECR password (from aws ecr get-login-password) expires 12 hours after it is issued, "
    "so the connection stops working unless the password is replaced. The "
    f"{TYPE_LABEL} type renews its tokens itself."
)
#: What the Docker Registry kind's fix-it hints add for an ECR registry.
AUTH_FAILED_HINT = (
    f"For AWS ECR the username is {USERNAME} and the password lasts 12 hours: run aws ecr "
    f"get-login-password again, or use the {TYPE_LABEL} type, which renews its tokens itself."
)
EXPIRED_HINT = (
    "For AWS ECR, passwords last 12 hours: get a new one with aws ecr get-login-password and "
    f"replace the credentials, or connect the registry again as the {TYPE_LABEL} type, which "
    "renews its tokens itself."
)
EXAMPLE_ADDRESS = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/namespace"


def is_ecr_host(host: str) -> bool:
    return HOST_PATTERN.fullmatch(host.lower()) is not None


def expiry(previous_expiry: datetime | None, now: datetime) -> datetime:
    """After a successful check: keep the expiry of the check that first saw this password.

    A previous estimate that has already passed (while the password still works) was wrong, so
    the best bound is again 12 hours from now.
    """
    if previous_expiry is not None and previous_expiry > now:
        return previous_expiry
    return now + PASSWORD_LIFETIME


def endpoint(address: RegistryAddress, urls: Mapping[str, RegistryAddress]) -> RegistryAddress:
    """Where a registry at `address` is: for an ECR host, `ECR_REGISTRY_URL` when it is set (a
    local registry in tests), with the typed namespace; else the address itself."""
    override = urls.get(REGISTRY_URL_SETTING)
    if override is None or not is_ecr_host(address.host):
        return address
    return RegistryAddress(override.scheme, override.host, override.port, address.namespace)
