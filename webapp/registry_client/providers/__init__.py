"""Provider knowledge, one module per registry kind; everything else asks here.

A provider module (`docker_registry`, `docker_hub`, `github`) holds its kind's hosts, endpoints
and their settings, the `auths` key runners get, expiry rules, field words and fix-it hints, as
a `Provider` (see `base`). `ecr` holds what AWS ECR's hosts share in both types that
serve them (a Docker Registry recognised by its host, and `aws_ecr`, the type that mints its own
tokens). Adding a kind is one module here, listed in `PROVIDERS`, and its form
(webapp/registries/forms/).
"""

from __future__ import annotations

from types import MappingProxyType

from ..address import RegistryAddress
from ..statuses import Status, StatusText
from ..statuses import text as status_text
from . import aws_ecr, docker_hub, docker_registry, ecr, github
from .base import Endpoints, FieldText, Provider, Suggestion, TokenFacts

__all__ = [
    "ENDPOINT_SETTINGS",
    "PROVIDERS",
    "PUBLIC_HOSTS",
    "Endpoints",
    "FieldText",
    "Provider",
    "Suggestion",
    "TokenFacts",
    "auth_key",
    "describe",
    "for_image_host",
    "get",
    "suggest_for_address",
]

#: Every kind, in the order the wizard offers them.
PROVIDERS: MappingProxyType[str, Provider] = MappingProxyType(
    {
        provider.kind: provider
        for provider in (
            docker_registry.PROVIDER,
            docker_hub.PROVIDER,
            github.PROVIDER,
            aws_ecr.PROVIDER,
        )
    }
)

#: The settings naming the providers' endpoints, and their defaults (the real services).
ENDPOINT_SETTINGS: MappingProxyType[str, str] = MappingProxyType(
    {
        name: url
        for provider in PROVIDERS.values()
        for name, url in provider.endpoint_settings.items()
    }
)

#: Providers' hosts that serve public images, pulled with no credentials.
PUBLIC_HOSTS: frozenset[str] = frozenset(
    {p.fixed_host for p in PROVIDERS.values() if p.fixed_host and p.serves_public_images}
    | {ecr.PUBLIC_HOST}
)

_BY_FIXED_HOST = {p.fixed_host: p for p in PROVIDERS.values() if p.fixed_host}


def get(kind: str) -> Provider:
    """The provider of `kind`; ValueError for a kind there is none of."""
    try:
        return PROVIDERS[kind]
    except (KeyError, TypeError):
        raise ValueError(f"unknown registry kind {kind!r}") from None


def for_image_host(host: str, port: int | None) -> Provider:
    """Whose registry serves an image on `host[:port]`: a provider with a fixed host, or else a
    Docker Registry at that address."""
    for provider in PROVIDERS.values():
        if provider.serves(host, port):
            return provider
    return docker_registry.PROVIDER


def suggest_for_address(address: RegistryAddress) -> Suggestion:
    """What a typed registry address suggests: another kind (ghcr.io is GitHub), or values for
    its fields (an ECR host's user)."""
    for provider in PROVIDERS.values():
        suggestion = provider.suggestion(address)
        if suggestion is not None:
            return suggestion
    return Suggestion()


def auth_key(host: str) -> str:
    """The `auths` key of config.json / auth.json under which Docker and containers/image look
    up the credentials for a registry stored (or an image resolved) under the host key `host`."""
    provider = _BY_FIXED_HOST.get(host)
    return (provider.auth_key if provider else None) or host


def describe(status: str, kind: str) -> StatusText:
    """Label, fix-it hint and badge tone of a status for a registry of this kind; ValueError
    for an unknown status or kind. Templates call it freely (`describe_status`)."""
    return status_text(Status(status), get(kind).hints)
