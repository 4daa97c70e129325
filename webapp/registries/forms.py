"""One WTForms form per registry type, plus the wizard's step-1 and one-button forms.

Field labels are the specification's; help texts are our own words. Validation that needs the
database (unique names and addresses, "keep the secret") lives in the registry service, which
adds its errors to these fields.
"""

from __future__ import annotations

from wtforms import HiddenField, PasswordField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..forms import WebForm, single_line
from ..registry_client.address import PATH_COMPONENT
from ..registry_client.errors import RegistryClientError
from ..registry_client.reference import InvalidReference, parse_reference
from ..registry_client.tls import validate_ca_pem

NAME_MAX = 64
SECRET_MAX = 4096


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def check_namespace(form: WebForm, field) -> None:
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


def check_ca_certificate(form: WebForm, field) -> None:
    if not (field.data or "").strip():
        field.data = None
        return
    try:
        field.data = validate_ca_pem(field.data)
    except RegistryClientError as error:
        raise ValidationError(str(error)) from None


def check_test_image(form: WebForm, field) -> None:
    value = (field.data or "").strip()
    if not value:
        field.data = None
        return
    try:
        parse_reference(f"registry.invalid/{value}")
    except InvalidReference as error:
        raise ValidationError(f"That is not an image path with an optional tag: {error}") from None
    field.data = value


class EmptyForm(WebForm):
    """CSRF for one-button actions (Save anyway, Discard, Check now)."""


class ChooseTypeForm(WebForm):
    kind = RadioField(
        "Registry type",
        choices=[
            SelectChoice("docker_registry", "Docker Registry"),
            SelectChoice("docker_hub", "Docker Hub"),
            SelectChoice("github", "GitHub"),
        ],
        validators=[Optional()],
    )
    address = StringField(
        "Registry address",
        description="Optional: paste a registry address or an image reference and we will pick "
        "the type and fill in what we can.",
        filters=[_strip],
        validators=[Optional(), Length(max=512, message="That is too long to be an address.")],
    )


STORED_ENCRYPTED = "We store it encrypted and never show it again."
NAME_HELP = "How this registry is shown here, e.g. “Production ECR”."


def _name_field(description: str | None = NAME_HELP) -> StringField:
    return StringField(
        "Name",
        description=description or "",
        filters=[_strip],
        validators=[
            DataRequired("Give the registry a name."),
            Length(max=NAME_MAX, message=f"Keep the name to {NAME_MAX} characters or fewer."),
            single_line,
        ],
    )


def _username_field(label: str, help_text: str, missing: str) -> StringField:
    return StringField(
        label,
        description=help_text,
        filters=[_strip],
        validators=[DataRequired(missing), Length(max=255)],
    )


def _secret_field(label: str, help_text: str) -> PasswordField:
    # Not required here: on Edit details an empty field means "keep" (the service decides).
    return PasswordField(
        label, description=f"{help_text} {STORED_ENCRYPTED}", validators=[Length(max=SECRET_MAX)]
    )


def _namespace_field(provider: str) -> StringField:
    return StringField(
        "Namespace",
        description=f"Optional: use these credentials only for images under this {provider} "
        "user or organization.",
        filters=[_strip],
        validators=[Optional(), Length(max=255), check_namespace],
    )


class RegistrySettingsForm(WebForm):
    """What every type has: a name, a username and a secret, and the wizard's draft token."""

    name = _name_field()
    # A signed token naming the draft this form creates or edits: makes Connect idempotent.
    draft = HiddenField()

    @property
    def address_field(self):
        """The field that says where the registry is: errors about its address go there."""
        return self.namespace


class DockerRegistrySettingsForm(RegistrySettingsForm):
    registry_url = StringField(
        "Registry URL",
        description="The registry's address, with a namespace if you want to limit it to one, "
        "e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/namespace.",
        filters=[_strip],
        validators=[DataRequired("Enter the registry URL.")],
    )
    username = _username_field(
        "Username", "A user that can pull the images. For AWS ECR it is AWS.", "Enter the username."
    )
    password = _secret_field(
        "Password / Token", "The password or an access token with read access."
    )
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
        filters=[_strip],
        validators=[Optional(), Length(max=255), check_test_image],
    )

    @property
    def address_field(self):
        return self.registry_url


class DockerHubSettingsForm(RegistrySettingsForm):
    username = _username_field(
        "Docker Hub Username",
        "Your Docker ID, or the organization name for an organization access token.",
        "Enter your Docker Hub username.",
    )
    password = _secret_field(
        "Access Token",
        "A Docker Hub access token with read access to the images (not your account password).",
    )
    namespace = _namespace_field("Docker Hub")


class GitHubSettingsForm(RegistrySettingsForm):
    username = _username_field(
        "GitHub Username",
        "The GitHub account the token belongs to.",
        "Enter your GitHub username.",
    )
    password = _secret_field(
        "Personal Access Token",
        "A personal access token (classic) with the read:packages scope.",
    )
    namespace = _namespace_field("GitHub")


class RegistryRenameForm(WebForm):
    name = _name_field(description=None)
    version = HiddenField()


class RegistryRemoveForm(WebForm):
    version = HiddenField()
    confirm_name = StringField("Type the registry's name to confirm", filters=[_strip])
