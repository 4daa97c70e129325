"""The Docker Registry settings form: a typed address (with an optional namespace), and under
"Advanced" a private CA and a test image. Its words are the provider's
(registry_client/providers/docker_registry.py)."""

from __future__ import annotations

from flask import current_app
from wtforms import Field, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ...forms import strip
from ...models import Registry
from ...registry_client import providers
from ...registry_client.address import parse_registry_url
from ...registry_client.errors import AddressError
from ...registry_client.providers import docker_registry
from ...services.registries import RegistryDetails
from .base import (
    RegistrySettingsForm,
    check_ca_certificate,
    check_test_image,
    secret_field,
    username_field,
)


class DockerRegistrySettingsForm(RegistrySettingsForm):
    provider = docker_registry.PROVIDER
    advanced_fields = ("ca_certificate", "test_image")

    registry_url = StringField(
        provider.registry_url.label,
        description=provider.registry_url.help,
        filters=[strip],
        validators=[DataRequired(provider.registry_url.missing)],
    )
    username = username_field(provider.username)
    password = secret_field(provider.secret)
    ca_certificate = TextAreaField(
        "CA certificate",
        description="Only for a registry whose certificate comes from a private CA: paste the "
        "CA's PEM certificate.",
        validators=[Optional(), Length(max=64_000), check_ca_certificate],
    )
    test_image = StringField(
        "Test image",
        description="Optional: an image path in this registry, like team/app:1.0, to check "
        "that these credentials can pull it.",
        filters=[strip],
        validators=[Optional(), Length(max=255), check_test_image],
    )

    @property
    def address_field(self) -> Field:
        return self.registry_url

    def address_note(self) -> tuple[str, str] | None:
        """(note, kind) when the typed address is better served by another type: an ECR host's
        12-hour passwords, and the AWS ECR type that renews its own."""
        try:
            address = parse_registry_url(self.registry_url.data or "", allow_insecure=True)
        except AddressError:
            return None
        suggestion = providers.suggest_for_address(address)
        if suggestion.note and suggestion.preferred_kind:
            return suggestion.note, suggestion.preferred_kind
        return None

    def check_address(self) -> None:
        try:
            parse_registry_url(
                self.registry_url.data,
                allow_insecure=current_app.config["ALLOW_INSECURE_REGISTRIES"],
            )
        except AddressError as error:
            self.registry_url.errors.append(str(error))

    def details(self) -> RegistryDetails | None:
        allow_insecure = current_app.config["ALLOW_INSECURE_REGISTRIES"]
        try:
            address = parse_registry_url(self.registry_url.data, allow_insecure=allow_insecure)
        except AddressError as error:
            self.registry_url.errors.append(str(error))
            return None
        suggestion = providers.suggest_for_address(address)
        if suggestion.kind is not None:
            label = providers.get(suggestion.kind).label
            self.registry_url.errors.append(
                f"This is a {label} address: go back and choose the {label} type."
            )
            return None
        return self._details(
            address.scheme,
            address.netloc,
            address.namespace,
            ca_certificate=self.ca_certificate.data,
            test_image=self.test_image.data,
        )

    def fill_from(self, registry: Registry) -> None:
        super().fill_from(registry)
        scheme = "http://" if registry.scheme == "http" else ""
        namespace = f"/{registry.namespace}" if registry.namespace else ""
        self.registry_url.data = scheme + registry.host + namespace
        self.ca_certificate.data = registry.ca_certificate
        self.test_image.data = registry.test_image
