"""What every registry settings form has, the field builders and validators they share.

A kind's form (one module per kind beside this one) names its provider, takes its fields' words
from it, and knows how its fields become `RegistryDetails` and how a stored registry fills
them. Validation that needs the database (unique names and addresses, "keep the secret") lives
in the registry service, whose refusals the views put beside these fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from wtforms import Field, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ...forms import WebForm, no_hidden_controls, single_line, strip
from ...models import Registry
from ...registry_client.address import PATH_COMPONENT
from ...registry_client.errors import RegistryClientError
from ...registry_client.providers import FieldText, Provider
from ...registry_client.reference import InvalidReference, parse_reference
from ...registry_client.tls import validate_ca_pem
from ...services.registries import RegistryDetails

NAME_MAX = 64
SECRET_MAX = 4096
#: Longest value a link or "Back" may put into a field (the fields' own limits come after).
CARRIED_MAX = 512
STORED_ENCRYPTED = "We store it encrypted and never show it again."
NAME_HELP = "How this registry is shown here, e.g. “Production ECR”."


def check_namespace(form: WebForm, field: Field) -> None:
    value = (field.data or "").strip().strip("/")
    if not value:
        return
    for component in value.split("/"):
        if not PATH_COMPONENT.fullmatch(component):
            raise ValidationError(
                "Use lowercase letters, digits and . _ - between them, with / between parts "
                "(for example acme or acme/team)."
            )
    field.data = value


def check_ca_certificate(form: WebForm, field: Field) -> None:
    if not (field.data or "").strip():
        field.data = None
        return
    try:
        field.data = validate_ca_pem(field.data)
    except RegistryClientError as error:
        raise ValidationError(str(error)) from None


def check_test_image(form: WebForm, field: Field) -> None:
    value = (field.data or "").strip()
    if not value:
        field.data = None
        return
    try:
        parse_reference(f"registry.invalid/{value}")
    except InvalidReference as error:
        raise ValidationError(f"That is not an image path with an optional tag: {error}") from None
    field.data = value


def name_field(description: str | None = NAME_HELP) -> StringField:
    return StringField(
        "Name",
        description=description or "",
        filters=[strip],
        validators=[
            DataRequired("Give the registry a name."),
            Length(max=NAME_MAX, message=f"Keep the name to {NAME_MAX} characters or fewer."),
            single_line,
            no_hidden_controls,
        ],
    )


def username_field(words: FieldText) -> StringField:
    return StringField(
        words.label,
        description=words.help,
        filters=[strip],
        validators=[DataRequired(words.missing), Length(max=255)],
    )


def secret_field(words: FieldText) -> PasswordField:
    # Not required here: on Edit details an empty field means "keep" (the service decides).
    return PasswordField(
        words.label,
        description=f"{words.help} {STORED_ENCRYPTED}",
        validators=[Length(max=SECRET_MAX)],
    )


def namespace_field(provider: Provider) -> StringField:
    return StringField(
        "Namespace",
        description=f"Optional: use these credentials only for images under this "
        f"{provider.label} user or organization.",
        filters=[strip],
        validators=[Optional(), Length(max=255), check_namespace],
    )


class RegistrySettingsForm(WebForm):
    """What every kind has: a name, a username and a secret, and the wizard's draft token.

    A kind's form sets `provider` and `advanced_fields`, and adds its fields.
    """

    provider: ClassVar[Provider]
    #: The fields shown under "Advanced".
    advanced_fields: ClassVar[tuple[str, ...]] = ()
    #: The non-secret fields that links and the wizard's "Back" carry (query values).
    CARRIED_FIELDS: ClassVar[tuple[str, ...]] = (
        "name",
        "registry_url",
        "username",
        "namespace",
        "test_image",
        "auth_mode",
        "role_arn",
        "access_key_id",
    )
    #: A template with the kind's own sign-in fields, in place of username and password.
    fields_template: ClassVar[str | None] = None

    #: A secret is stored already, so leaving the field empty keeps it (the view sets it: a
    #: draft being edited, Replace credentials). Else `validate_page` flags an empty secret
    #: with the other empty fields, in the same answer.
    secret_on_file: bool = False

    name = name_field()
    # A signed token naming the draft this form creates or edits: makes Connect idempotent.
    draft = HiddenField()
    username: StringField
    password: PasswordField

    def validate_page(self) -> bool:
        """A page's submit: `validate_on_submit()` and, in the same answer, what would only be
        found after it (an empty secret with none stored, the address's own errors), so an
        empty submit flags every field at once. The API validates with `validate()` alone and
        asks the service, which refuses a missing secret the same way."""
        valid = self.validate_on_submit()
        if not self.is_submitted():
            return False
        if not self.password.data and not self.secret_on_file and not self.password.errors:
            self.password.errors.append(
                self.provider.secret.missing or f"Enter the {self.password.label.text.lower()}."
            )
            valid = False
        if not valid and not self.address_field.errors and self.address_field.data:
            self.check_address()
        return valid

    def check_address(self) -> None:
        """Put the address's own errors beside it (details() finds them too); a kind whose
        address needs parsing overrides it."""

    @property
    def address_field(self) -> Field:
        """The field that says where the registry is: errors about its address go there."""
        raise NotImplementedError

    def details(self) -> RegistryDetails | None:
        """The validated details, or None with errors added beside the fields (call it once
        the form validated). Plain-http addresses pass only with ALLOW_INSECURE_REGISTRIES."""
        raise NotImplementedError

    def use_registry(self, registry: Registry) -> None:
        """The stored registry this form edits (a draft, or Replace credentials), whatever the
        request: what it keeps whatever is posted (AWS ECR: its external ID)."""

    def fill_from(self, registry: Registry) -> None:
        """Show a stored registry's values (never its secret): Edit details, Replace
        credentials."""
        self.name.data = registry.name
        self.username.data = registry.username

    def carried(self) -> dict[str, str]:
        """The values of the carried fields that hold one."""
        values = {name: getattr(self, name).data for name in self._carried_names()}
        return {name: value for name, value in values.items() if value}

    def fill_from_carried(self, values: Mapping[str, Any]) -> None:
        """Fill the carried fields this kind has from `values` (a link's query, a "Back")."""
        for name in self._carried_names():
            if values.get(name):
                getattr(self, name).data = str(values[name])[:CARRIED_MAX]

    def _carried_names(self) -> list[str]:
        return [name for name in self.CARRIED_FIELDS if name in self._fields]

    def _details(self, scheme: str, host: str, namespace: str, **extra: Any) -> RegistryDetails:
        return RegistryDetails(
            kind=self.provider.kind,
            name=self.name.data,
            scheme=scheme,
            host=host,
            namespace=namespace,
            username=self.username.data,
            secret=self.password.data or None,
            **extra,
        )


class FixedHostSettingsForm(RegistrySettingsForm):
    """A kind whose provider fixes the host (Docker Hub, GitHub): the admin may name a
    namespace (a user or organization) under "Advanced"."""

    advanced_fields = ("namespace",)
    namespace: StringField

    @property
    def address_field(self) -> Field:
        return self.namespace

    def details(self) -> RegistryDetails | None:
        host = self.provider.fixed_host
        assert host is not None, "a fixed-host form needs a provider with a fixed host"
        return self._details("https", host, self.namespace.data or "")

    def fill_from(self, registry: Registry) -> None:
        super().fill_from(registry)
        self.namespace.data = registry.namespace
