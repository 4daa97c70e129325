"""One WTForms form per registry type, plus the wizard's step-1 and one-button forms.

Field labels are the specification's; help texts are our own words. Validation that needs the
database (unique names and addresses, "keep the secret") lives in the registry service, which
adds its errors to these fields.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..registry_client.address import PATH_COMPONENT
from ..registry_client.errors import RegistryClientError
from ..registry_client.reference import InvalidReference, parse_reference
from ..registry_client.tls import validate_ca_pem

NAME_MAX = 64
SECRET_MAX = 4096


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def check_namespace(form: FlaskForm, field) -> None:
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


def check_ca_certificate(form: FlaskForm, field) -> None:
    if not (field.data or "").strip():
        field.data = None
        return
    try:
        field.data = validate_ca_pem(field.data)
    except RegistryClientError as error:
        raise ValidationError(str(error)) from None


def check_test_image(form: FlaskForm, field) -> None:
    value = (field.data or "").strip()
    if not value:
        field.data = None
        return
    try:
        parse_reference(f"registry.invalid/{value}")
    except InvalidReference as error:
        raise ValidationError(f"That is not an image path with an optional tag: {error}") from None
    field.data = value


class EmptyForm(FlaskForm):
    """CSRF for one-button actions (Save anyway, Discard, Check now)."""


class ChooseTypeForm(FlaskForm):
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


class RegistrySettingsForm(FlaskForm):
    """What every type has: a name, a username and a secret, and the wizard's draft token."""

    name = StringField(
        "Name",
        description="How this registry is shown here, e.g. “Production ECR”.",
        filters=[_strip],
        validators=[
            DataRequired("Give the registry a name."),
            Length(max=NAME_MAX, message=f"Keep the name to {NAME_MAX} characters or fewer."),
        ],
    )
    # A signed token naming the draft this form creates or edits: makes Connect idempotent.
    draft = HiddenField()


class DockerRegistrySettingsForm(RegistrySettingsForm):
    registry_url = StringField(
        "Registry URL",
        description="The registry's address, with a namespace if you want to limit it to one, "
        "e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/namespace.",
        filters=[_strip],
        validators=[DataRequired("Enter the registry URL.")],
    )
    username = StringField(
        "Username",
        description="A user that can pull the images. For AWS ECR it is AWS.",
        filters=[_strip],
        validators=[DataRequired("Enter the username."), Length(max=255)],
    )
    password = PasswordField(
        "Password / Token",
        description="The password or an access token with read access. We store it encrypted "
        "and never show it again.",
        validators=[Length(max=SECRET_MAX)],
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


class DockerHubSettingsForm(RegistrySettingsForm):
    username = StringField(
        "Docker Hub Username",
        description="Your Docker ID, or the organization name for an organization access token.",
        filters=[_strip],
        validators=[DataRequired("Enter your Docker Hub username."), Length(max=255)],
    )
    password = PasswordField(
        "Access Token",
        description="A Docker Hub access token with read access to the images (not your account "
        "password). We store it encrypted and never show it again.",
        validators=[Length(max=SECRET_MAX)],
    )
    namespace = StringField(
        "Namespace",
        description="Optional: use these credentials only for images under this Docker Hub user "
        "or organization.",
        filters=[_strip],
        validators=[Optional(), Length(max=255), check_namespace],
    )


class GitHubSettingsForm(RegistrySettingsForm):
    username = StringField(
        "GitHub Username",
        description="The GitHub account the token belongs to.",
        filters=[_strip],
        validators=[DataRequired("Enter your GitHub username."), Length(max=255)],
    )
    password = PasswordField(
        "Personal Access Token",
        description="A personal access token (classic) with the read:packages scope. We store "
        "it encrypted and never show it again.",
        validators=[Length(max=SECRET_MAX)],
    )
    namespace = StringField(
        "Namespace",
        description="Optional: use these credentials only for images under this GitHub user or "
        "organization.",
        filters=[_strip],
        validators=[Optional(), Length(max=255), check_namespace],
    )


class RegistryRenameForm(FlaskForm):
    name = StringField(
        "Name",
        filters=[_strip],
        validators=[
            DataRequired("Give the registry a name."),
            Length(max=NAME_MAX, message=f"Keep the name to {NAME_MAX} characters or fewer."),
        ],
    )
    version = HiddenField()


class RegistryRemoveForm(FlaskForm):
    version = HiddenField()
    confirm_name = StringField("Type the registry's name to confirm", filters=[_strip])
