"""Client settings, built from plain configuration values (the Flask side passes `app.config`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .address import RegistryAddress, parse_registry_url
from .errors import AddressError
from .outbound import OutboundPolicy, parse_networks

DEFAULT_DEADLINE_SECONDS = 10.0
_URL_KEYS = (
    ("DOCKER_HUB_REGISTRY_URL", "docker_hub_registry_url"),
    ("DOCKER_HUB_AUTH_URL", "docker_hub_auth_url"),
    ("GHCR_URL", "ghcr_url"),
    ("GITHUB_API_URL", "github_api_url"),
)


@dataclass(frozen=True)
class ClientSettings:
    """Everything a check needs besides the target. The URLs are validated on construction."""

    policy: OutboundPolicy = field(default_factory=OutboundPolicy)
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS
    ca_bundle_path: str | None = None
    docker_hub_registry_url: str = "https://registry-1.docker.io"
    docker_hub_auth_url: str = "https://auth.docker.io"
    ghcr_url: str = "https://ghcr.io"
    github_api_url: str = "https://api.github.com"

    def __post_init__(self) -> None:
        if not self.deadline_seconds > 0:
            raise ValueError("CHECK_TIMEOUT_SECONDS must be a positive number.")
        for key, name in _URL_KEYS:
            try:
                self._parse(getattr(self, name))
            except AddressError as exc:
                raise ValueError(f"{key} is not a usable URL: {exc}") from None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ClientSettings:
        """Read the environment keys of design.md; missing or empty values take the defaults."""
        policy = OutboundPolicy(
            allowed_networks=parse_networks(config.get("OUTBOUND_ALLOWED_NETWORKS")),
            allow_insecure=_flag(config.get("ALLOW_INSECURE_REGISTRIES")),
        )
        values: dict[str, Any] = {
            "deadline_seconds": float(
                config.get("CHECK_TIMEOUT_SECONDS") or DEFAULT_DEADLINE_SECONDS
            ),
            "ca_bundle_path": config.get("REGISTRY_CA_BUNDLE") or None,
        }
        for key, name in _URL_KEYS:
            if config.get(key):
                values[name] = str(config[key])
        return cls(policy=policy, **values)

    def _parse(self, url: str) -> RegistryAddress:
        return parse_registry_url(url, allow_insecure=self.policy.allow_insecure)

    @property
    def docker_hub_registry(self) -> RegistryAddress:
        return self._parse(self.docker_hub_registry_url)

    @property
    def docker_hub_auth(self) -> RegistryAddress:
        return self._parse(self.docker_hub_auth_url)

    @property
    def ghcr(self) -> RegistryAddress:
        return self._parse(self.ghcr_url)

    @property
    def _github_api(self) -> RegistryAddress:
        return self._parse(self.github_api_url)

    @property
    def github_api_base(self) -> str:
        """The API root without a trailing slash (GitHub Enterprise puts it under /api/v3)."""
        api = self._github_api
        return f"{api.base_url}/{api.namespace}" if api.namespace else api.base_url


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)
