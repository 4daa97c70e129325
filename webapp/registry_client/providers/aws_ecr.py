"""AWS ECR, the dedicated type: the platform mints and renews the 12-hour tokens itself.

The admin types the registry's address (`<account>.dkr.ecr.<region>.amazonaws.com[/namespace]`,
or another partition's host); account, region and partition are read from it (`parse_host`),
the region checked against botocore's own partition data. The platform signs in to AWS one of two
ways (`AUTH_MODES`): assuming the customer's IAM role with the external ID it generated for the
registry (recommended: no long-lived key leaves the customer), or with an access key pair. The
token minted (`registry_client.ecr_tokens`) is an ordinary Basic password for the user `AWS`.

The ECR hosts and the 12-hour lifetime are `ecr`'s, shared with the Docker Registry path.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from ..address import RegistryAddress
from ..statuses import Status
from . import ecr
from .base import Endpoints, FieldText, Provider, Suggestion

KIND = ecr.TYPE_KIND
ROLE, ACCESS_KEY = "role", "access_key"
AUTH_MODES = {ROLE: "IAM role (recommended)", ACCESS_KEY: "Access key"}
REGISTRY_URL_SETTING = ecr.REGISTRY_URL_SETTING
#: How long before its expiry the sweep renews a token.
RENEW_BEFORE_SECONDS = 3600
#: STS AssumeRole's shortest session: the token is minted at once, the session is not reused.
SESSION_SECONDS = 900
#: The three actions a pull needs on the repositories (GetAuthorizationToken is account-wide).
PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
)

PARTITION_SUFFIXES = ecr.PARTITION_SUFFIXES
ROLE_ARN_PATTERN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):iam::(?P<account>[0-9]{12}):role/(?P<name>[\w+=,.@/-]{1,512})"
)


class AwsAddressError(ValueError):
    """An address or role ARN that is not AWS ECR's; the message says why, for the field."""


@dataclass(frozen=True)
class EcrHost:
    account: str
    region: str
    partition: str
    fips: bool = False


@cache
def _regions() -> Mapping[str, frozenset[str]]:
    """Partition → the regions botocore knows ECR in (its own data, no network)."""
    import botocore.session

    session = botocore.session.get_session()
    return {
        partition: frozenset(session.get_available_regions("ecr", partition))
        for partition in session.get_available_partitions()
    }


def partition_of_region(region: str) -> str | None:
    for partition, regions in _regions().items():
        if region in regions:
            return partition
    return None


def parse_host(host: str) -> EcrHost:
    """Account, region and partition of an ECR registry host; AwsAddressError otherwise."""
    match = ecr.HOST_PATTERN.fullmatch(host.lower())
    if match is None or not re.fullmatch(r"[0-9]{12}", match["account"]):
        raise AwsAddressError(
            "That is not an AWS ECR registry address: it looks like "
            f"{ecr.EXAMPLE_ADDRESS} (account ID, dkr.ecr, region)."
        )
    region = match["region"]
    partition = partition_of_region(region)
    if partition is None:
        raise AwsAddressError(f"AWS has no region “{region}” with ECR (as far as we know).")
    if PARTITION_SUFFIXES.get(partition) != match["suffix"]:
        raise AwsAddressError(
            f"The region {region} is in the {partition} partition, whose ECR hosts end in "
            f"{PARTITION_SUFFIXES.get(partition)}, not {match['suffix']}."
        )
    return EcrHost(match["account"], region, partition, bool(match["fips"]))


def parse_role_arn(arn: str) -> tuple[str, str]:
    """(partition, account) of an IAM role ARN; AwsAddressError otherwise."""
    match = ROLE_ARN_PATTERN.fullmatch(arn.strip())
    if match is None or match["partition"] not in PARTITION_SUFFIXES:
        raise AwsAddressError(
            "Enter the role's ARN, like arn:aws:iam::123456789012:role/registry-pull."
        )
    return match["partition"], match["account"]


def new_external_id() -> str:
    """A fresh external ID: the platform's, one per registry, never chosen by anyone."""
    return f"rc-{secrets.token_hex(16)}"


def session_name(registry_id: object) -> str:
    """The AssumeRole session name: the registry's id (CloudTrail shows it to the customer)."""
    return f"rc-{str(registry_id).replace('-', '')}"[:64]


def trust_policy(platform_role_arn: str, external_id: str) -> str:
    """The role's trust policy: the platform's identity may assume it with this external ID."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": platform_role_arn},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
                }
            ],
        },
        indent=2,
    )


def permissions_policy(
    host: EcrHost | None, namespace: str = ""
) -> str:
    """What the role or user needs: GetAuthorizationToken on `*` (AWS does not scope it to
    repositories) and the pull actions on the namespace's repositories."""
    if host is None:
        partition, region, account = "aws", "<region>", "<account-id>"
    else:
        partition, region, account = host.partition, host.region, host.account
    repositories = f"{namespace}/*" if namespace else "*"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Action": list(PULL_ACTIONS),
                    "Resource": f"arn:{partition}:ecr:{region}:{account}:repository/{repositories}",
                },
            ],
        },
        indent=2,
    )


class AwsEcr(Provider):
    kind = KIND
    label = ecr.TYPE_LABEL
    description = (
        "Amazon Elastic Container Registry, through an IAM role or an access key: the platform "
        "renews the 12-hour tokens itself."
    )
    endpoint_settings = {REGISTRY_URL_SETTING: ""}
    mints_tokens = True
    password_credential_kind = "ecr_token"  # noqa: S105 - a kind, not a password
    registry_url = FieldText(
        "Registry URL",
        f"Your ECR registry, with a namespace if you want to limit it to one, e.g. "
        f"{ecr.EXAMPLE_ADDRESS}.",
        "Enter the ECR registry URL.",
    )
    username = FieldText(
        "Access key ID", "An IAM user's access key ID, e.g. AKIA….", "Enter the access key ID."
    )
    secret = FieldText(
        "Secret access key", "The secret access key that belongs to this access key ID."
    )
    hints = {
        Status.CONNECTED_ANONYMOUS: (
            "The registry let us in without sign-in, so the AWS credentials were not tested."
        ),
        Status.AUTH_FAILED: (
            "IAM role: paste the trust policy shown on this registry's page into the role's "
            "trust relationships; it names the platform and the external ID. Access key: check "
            "that the key is active and the secret access key belongs to it."
        ),
        Status.MISSING_SCOPE: (
            "Attach the permissions policy shown on this registry's page to the role or user. "
            "If it is attached, a repository policy may refuse the pull: allow the role or user "
            "there too."
        ),
        Status.EXPIRED: (
            "The ECR token expired and could not be renewed. Check the role or access key, then "
            "use Check now."
        ),
        Status.UNREACHABLE: (
            "AWS or the ECR registry could not be reached from the platform. This is usually "
            "temporary; try Check now later."
        ),
        Status.TLS_ERROR: (
            "The connection to ECR was not trusted. Ask your platform operator whether outbound "
            "traffic is intercepted."
        ),
        Status.NOT_A_REGISTRY: (
            "Check the region and account in the registry URL: AWS does not know this ECR "
            "registry."
        ),
        Status.BLOCKED: (
            "The ECR address is on a network the platform may not reach. Ask your platform "
            "operator."
        ),
    }

    def endpoints(
        self, address: RegistryAddress | None, urls: Mapping[str, RegistryAddress]
    ) -> Endpoints:
        if address is None:
            raise ValueError("An AWS ECR target needs an address.")
        return Endpoints(ecr.endpoint(address, urls), None)

    def suggestion(self, address: RegistryAddress) -> Suggestion | None:
        return None  # the Docker Registry path keeps ECR addresses (it suggests this type)

    def serves(self, host: str, port: int | None) -> bool:
        return False  # an ECR host's registry is whichever type the admin connected it with


PROVIDER = AwsEcr()
