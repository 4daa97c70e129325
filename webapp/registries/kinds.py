"""The registry kinds the pages offer: each kind's provider (what it is) and form (what an admin
fills in). Views look kinds up here and nowhere else; an unknown kind is a 404."""

from __future__ import annotations

from dataclasses import dataclass

from ..registry_client.providers import Provider
from .forms import SETTINGS_FORMS, RegistrySettingsForm


@dataclass(frozen=True)
class RegistryKind:
    form: type[RegistrySettingsForm]

    @property
    def provider(self) -> Provider:
        return self.form.provider

    @property
    def key(self) -> str:
        return self.provider.kind

    @property
    def label(self) -> str:
        return self.provider.label

    @property
    def description(self) -> str:
        return self.provider.description

    @property
    def fixed_host(self) -> str | None:
        """Docker Hub and GitHub registries have a fixed host (the one image references name)."""
        return self.provider.fixed_host

    @property
    def display_host(self) -> str | None:
        return self.provider.display_host

    @property
    def advanced_fields(self) -> tuple[str, ...]:
        return self.form.advanced_fields


KINDS: dict[str, RegistryKind] = {kind.key: kind for kind in map(RegistryKind, SETTINGS_FORMS)}


def get(kind: str) -> RegistryKind | None:
    return KINDS.get(kind)


def choices() -> list[tuple[str, str]]:
    """(key, label) of every kind, in the wizard's order."""
    return [(key, kind.label) for key, kind in KINDS.items()]
