"""The registry client's settings, built from plain configuration values (the Flask side passes
`app.config`): the outbound policy, the check deadline, extra trusted CAs, and the providers'
endpoints (each provider names its own settings and their defaults)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .address import RegistryAddress, parse_registry_url
from .errors import AddressError
from .policy import OutboundPolicy, parse_networks
from .providers import ENDPOINT_SETTINGS

DEFAULT_DEADLINE_SECONDS = 10.0


@dataclass(frozen=True)
class ClientSettings:
    """Everything a check needs besides the target.

    `endpoint_urls` overrides providers' endpoints by setting name (`GHCR_URL`: …); the others
    are the real services. Every URL is validated on construction, and `endpoints` holds them
    parsed.
    """

    policy: OutboundPolicy = field(default_factory=OutboundPolicy)
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS
    ca_bundle_path: str | None = None
    endpoint_urls: Mapping[str, str] = field(default_factory=dict)
    endpoints: Mapping[str, RegistryAddress] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.deadline_seconds > 0:
            raise ValueError("CHECK_TIMEOUT_SECONDS must be a positive number.")
        unknown = set(self.endpoint_urls) - set(ENDPOINT_SETTINGS)
        if unknown:
            raise ValueError(f"No provider has the endpoint setting {sorted(unknown)[0]}.")
        parsed: dict[str, RegistryAddress] = {}
        for name, default in ENDPOINT_SETTINGS.items():
            url = self.endpoint_urls.get(name) or default
            if not url:  # a setting with no default: unset means "the address itself"
                continue
            try:
                parsed[name] = parse_registry_url(url, allow_insecure=self.policy.allow_insecure)
            except AddressError as exc:
                raise ValueError(f"{name} is not a usable URL: {exc}") from None
        object.__setattr__(self, "endpoints", MappingProxyType(parsed))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ClientSettings:
        """Read the environment keys of design.md; missing or empty values take the defaults."""
        policy = OutboundPolicy(
            allowed_networks=parse_networks(config.get("OUTBOUND_ALLOWED_NETWORKS")),
            allow_insecure=_flag(config.get("ALLOW_INSECURE_REGISTRIES")),
        )
        return cls(
            policy=policy,
            deadline_seconds=float(
                config.get("CHECK_TIMEOUT_SECONDS") or DEFAULT_DEADLINE_SECONDS
            ),
            ca_bundle_path=config.get("REGISTRY_CA_BUNDLE") or None,
            endpoint_urls={
                name: str(config[name]) for name in ENDPOINT_SETTINGS if config.get(name)
            },
        )


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)
