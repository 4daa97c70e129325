"""Docker Hub: its host names, the `auths` key Docker writes for it, its two endpoints.

Image references and registry addresses name it in three ways (the canonical `docker.io`, the
legacy index host, the API host); its registries are stored under `docker.io`, the domain image
references normalise to. Its registry API and its token service live on different hosts (both
settings); a token realm anywhere else is refused, so Docker Hub credentials only ever go to
the auth host.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..address import RegistryAddress
from ..statuses import Status
from .base import Endpoints, FieldText, Provider

KIND = "docker_hub"
#: The canonical domain of Docker Hub images, and the host under which Hub registries are stored.
DOMAIN = "docker.io"
#: Where Docker Hub's registry API (`/v2/`) actually lives.
API_HOST = "registry-1.docker.io"
#: Every spelling that means Docker Hub in an image reference or a registry address (lower
#: case): the canonical domain, the legacy index host and the API host.
HOSTS: frozenset[str] = frozenset({DOMAIN, "index.docker.io", API_HOST})
#: The `auths` key Docker's config.json uses for Docker Hub credentials.
AUTH_KEY = "https://index.docker.io/v1/"
#: Docker Hub namespace of official images (`ubuntu` is `library/ubuntu`).
OFFICIAL_NAMESPACE = "library"
REGISTRY_URL_SETTING = "DOCKER_HUB_REGISTRY_URL"
AUTH_URL_SETTING = "DOCKER_HUB_AUTH_URL"


class DockerHub(Provider):
    kind = KIND
    label = "Docker Hub"
    description = "Private repositories on Docker Hub, with a Docker Hub access token."
    fixed_host = DOMAIN
    hosts = HOSTS
    display_host = "Docker Hub"
    serves_public_images = True
    auth_key = AUTH_KEY
    endpoint_settings = {
        REGISTRY_URL_SETTING: f"https://{API_HOST}",
        AUTH_URL_SETTING: "https://auth.docker.io",
    }
    username = FieldText(
        "Docker Hub Username",
        "Your Docker ID, or the organization name for an organization access token.",
        "Enter your Docker Hub username.",
    )
    secret = FieldText(
        "Access Token",
        "A Docker Hub access token with read access to the images (not your account password).",
    )
    hints = {
        Status.CONNECTED_ANONYMOUS: (
            "Docker Hub answered without sign-in, so your credentials were not tested."
        ),
        Status.AUTH_FAILED: (
            "Use your Docker ID and a personal access token. The account password does not work "
            "when two-factor authentication or single sign-on is on."
        ),
        Status.MISSING_SCOPE: (
            "The access token cannot pull the test image. Create a token with read access (Repo "
            f"Read-only) and check the image name, for example {OFFICIAL_NAMESPACE}/ubuntu."
        ),
        Status.EXPIRED: (
            "The access token has expired. Create a new one in Docker Hub and replace the "
            "credentials."
        ),
        Status.UNREACHABLE: (
            "Docker Hub could not be reached from the platform. This is usually temporary; try "
            "Check now later."
        ),
        Status.TLS_ERROR: (
            "The connection to Docker Hub was not trusted. Ask your platform operator whether "
            "outbound traffic is intercepted."
        ),
        Status.NOT_A_REGISTRY: (
            "The configured Docker Hub address did not answer like Docker Hub. Ask your platform "
            "operator to check the Docker Hub settings."
        ),
        Status.BLOCKED: (
            "Docker Hub's sign-in service is not at the expected address. Ask your platform "
            "operator to check the Docker Hub settings."
        ),
    }

    def endpoints(
        self, address: RegistryAddress | None, urls: Mapping[str, RegistryAddress]
    ) -> Endpoints:
        return Endpoints(
            urls[REGISTRY_URL_SETTING], frozenset({urls[AUTH_URL_SETTING].host_port})
        )

    def repository(self, name: str) -> str:
        # A single name is an official image, as `docker pull ubuntu` reads it.
        return f"{OFFICIAL_NAMESPACE}/{name}" if "/" not in name else name

    def namespace_of(self, path: str) -> str:
        parent = super().namespace_of(path)
        return "" if parent == OFFICIAL_NAMESPACE else parent


PROVIDER = DockerHub()
