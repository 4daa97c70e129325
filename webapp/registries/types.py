"""The registry types: each key maps to a frozen spec, and views look types up here only."""

from __future__ import annotations

from dataclasses import dataclass

from .forms import (
    DockerHubSettingsForm,
    DockerRegistrySettingsForm,
    GitHubSettingsForm,
    RegistrySettingsForm,
)


@dataclass(frozen=True)
class RegistryType:
    key: str
    label: str
    description: str
    form: type[RegistrySettingsForm]
    # Docker Hub and GitHub registries have a fixed host (the one image references name).
    fixed_host: str | None
    display_host: str | None
    advanced_fields: tuple[str, ...]


TYPES: dict[str, RegistryType] = {
    spec.key: spec
    for spec in (
        RegistryType(
            "docker_registry",
            "Docker Registry",
            "Any registry that speaks the Docker Registry HTTP API v2, self-hosted or in the "
            "cloud — AWS ECR included.",
            DockerRegistrySettingsForm,
            None,
            None,
            ("ca_certificate", "test_image"),
        ),
        RegistryType(
            "docker_hub",
            "Docker Hub",
            "Private repositories on Docker Hub, with a Docker Hub access token.",
            DockerHubSettingsForm,
            "docker.io",
            "Docker Hub",
            ("namespace",),
        ),
        RegistryType(
            "github",
            "GitHub",
            "GitHub Container Registry (ghcr.io), with a personal access token.",
            GitHubSettingsForm,
            "ghcr.io",
            "GitHub Container Registry",
            ("namespace",),
        ),
    )
}


def get(kind: str) -> RegistryType | None:
    return TYPES.get(kind)
