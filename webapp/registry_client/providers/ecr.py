"""AWS ECR: its hosts, its user, and the 12-hour lifetime of its passwords.

Today an ECR registry is a Docker Registry that this module recognises by its host: the user is
`AWS` and the password (`aws ecr get-login-password`) expires 12 hours after it is issued. The
dedicated AWS ECR type (an IAM role or an access key pair, tokens the platform mints and renews)
starts from here.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

# amazon-ecr-credential-helper's pattern (ecr-login/api/client.go), matched on the whole host.
HOST_PATTERN = re.compile(
    r"([a-zA-Z0-9][a-zA-Z0-9_-]*)\.dkr\.ecr(-fips)?\.([a-zA-Z0-9][a-zA-Z0-9_-]*)\.amazonaws\.com(\.cn)?"
)
#: ECR Public: public images, pulled with no credentials.
PUBLIC_HOST = "public.ecr.aws"
USERNAME = "AWS"
PASSWORD_LIFETIME = timedelta(hours=12)
EXPIRY_NOTE = (
    "An ECR password (from aws ecr get-login-password) expires 12 hours after it is issued, "
    "so the connection stops working unless the password is replaced."
)
#: What the Docker Registry kind's fix-it hints add for an ECR registry.
AUTH_FAILED_HINT = (
    f"For AWS ECR the username is {USERNAME} and the password lasts 12 hours: run aws ecr "
    "get-login-password again."
)
EXPIRED_HINT = (
    "For AWS ECR, passwords last 12 hours: get a new one with aws ecr get-login-password and "
    "replace the credentials."
)
EXAMPLE_ADDRESS = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/namespace"


def is_ecr_host(host: str) -> bool:
    return HOST_PATTERN.fullmatch(host) is not None


def expiry(previous_expiry: datetime | None, now: datetime) -> datetime:
    """After a successful check: keep the expiry of the check that first saw this password.

    A previous estimate that has already passed (while the password still works) was wrong, so
    the best bound is again 12 hours from now.
    """
    if previous_expiry is not None and previous_expiry > now:
        return previous_expiry
    return now + PASSWORD_LIFETIME
