"""Docker Registry: any service that speaks the Registry HTTP API v2, at the address the admin
types (with an optional namespace), AWS ECR included (`ecr`).

Its token realm may be on another host (a registry's own token service), but only through the
outbound guard, like the registry itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ..address import RegistryAddress
from ..statuses import Status
from . import ecr
from .base import Endpoints, FieldText, Provider, Suggestion

KIND = "docker_registry"


class DockerRegistry(Provider):
    kind = KIND
    label = "Docker Registry"
    description = (
        "Any registry that speaks the Docker Registry HTTP API v2, self-hosted or in the "
        "cloud — AWS ECR included."
    )
    registry_url = FieldText(
        "Registry URL",
        "The registry's address, with a namespace if you want to limit it to one, "
        f"e.g. {ecr.EXAMPLE_ADDRESS}.",
        "Enter the registry URL.",
    )
    username = FieldText(
        "Username",
        f"A user that can pull the images. For AWS ECR it is {ecr.USERNAME}.",
        "Enter the username.",
    )
    secret = FieldText("Password / Token", "The password or an access token with read access.")
    hints = {
        Status.CONNECTED_ANONYMOUS: (
            "The registry lets anyone in, so your credentials were not tested. That is fine for a "
            "public registry."
        ),
        Status.AUTH_FAILED: f"Check the username and password or token. {ecr.AUTH_FAILED_HINT}",
        Status.MISSING_SCOPE: (
            "The credentials work but cannot pull the test image. Give the account read access to "
            "that repository, or check the image name."
        ),
        Status.EXPIRED: f"The password has expired. {ecr.EXPIRED_HINT}",
        Status.UNREACHABLE: (
            "Check the registry address and port, and that the registry accepts connections from "
            "this platform (firewall, VPN, allow-lists)."
        ),
        Status.TLS_ERROR: (
            "If the registry uses a private or self-signed certificate, add its CA certificate "
            "under Advanced. Otherwise check that the certificate is valid for this host name."
        ),
        Status.NOT_A_REGISTRY: (
            "The address answers, but not as a container registry. Enter the registry's own "
            "address (without /v2/), not a web page or a login portal."
        ),
        Status.BLOCKED: (
            "This address is on a private or reserved network that the platform may not reach. "
            "Ask your platform operator to allow the registry's network."
        ),
    }

    def suggestion(self, address: RegistryAddress) -> Suggestion | None:
        if ecr.is_ecr_host(address.host):
            return Suggestion(
                username=ecr.USERNAME, note=ecr.EXPIRY_NOTE, preferred_kind=ecr.TYPE_KIND
            )
        return None

    def endpoints(
        self, address: RegistryAddress | None, urls: Mapping[str, RegistryAddress]
    ) -> Endpoints:
        if address is None:
            raise ValueError(f"A {self.label} target needs an address.")
        return Endpoints(ecr.endpoint(address, urls), None)

    def expiry_after_success(
        self, host: str, previous: datetime | None, now: datetime
    ) -> datetime | None:
        # ECR's passwords live 12 hours from the check that first saw them.
        return ecr.expiry(previous, now) if ecr.is_ecr_host(host) else None


PROVIDER = DockerRegistry()
