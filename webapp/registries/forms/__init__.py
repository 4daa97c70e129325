"""The registries blueprint's forms: one settings form per registry kind (a module each), and
the wizard's first step, rename and remove.

`SETTINGS_FORMS` lists the kinds' forms, in the order the wizard offers them; `kinds` makes
the blueprint's kind map of it. Adding a kind is its provider module
(registry_client/providers/) and its form module here, listed below.
"""

from __future__ import annotations

from collections.abc import Iterable

from wtforms import HiddenField, RadioField, SelectChoice, StringField
from wtforms.validators import Length, Optional

from ...forms import EmptyForm, WebForm, strip
from .aws_ecr import AwsEcrSettingsForm
from .base import NAME_MAX, RegistrySettingsForm, name_field
from .docker_hub import DockerHubSettingsForm
from .docker_registry import DockerRegistrySettingsForm
from .github import GitHubSettingsForm

__all__ = [
    "NAME_MAX",
    "AwsEcrSettingsForm",
    "SETTINGS_FORMS",
    "ChooseTypeForm",
    "DockerHubSettingsForm",
    "DockerRegistrySettingsForm",
    "EmptyForm",
    "GitHubSettingsForm",
    "RegistryRemoveForm",
    "RegistryRenameForm",
    "RegistrySettingsForm",
]

SETTINGS_FORMS: tuple[type[RegistrySettingsForm], ...] = (
    DockerRegistrySettingsForm,
    DockerHubSettingsForm,
    GitHubSettingsForm,
    AwsEcrSettingsForm,
)


class ChooseTypeForm(WebForm):
    """The wizard's first step: a kind, or an address (or image) to read the kind from."""

    kind = RadioField("Registry type", choices=[], validators=[Optional()])
    address = StringField(
        "Registry address",
        description="Optional: paste a registry address or an image reference and we will pick "
        "the type and fill in what we can.",
        filters=[strip],
        validators=[Optional(), Length(max=512, message="That is too long to be an address.")],
    )

    def __init__(self, *args: object, kinds: Iterable[tuple[str, str]], **kwargs: object):
        """`kinds`: (key, label) of each kind offered."""
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice(key, label) for key, label in kinds]


class RegistryRenameForm(WebForm):
    name = name_field(description=None)
    version = HiddenField()


class RegistryRemoveForm(WebForm):
    version = HiddenField()
    confirm_name = StringField("Type the registry's name to confirm", filters=[strip])
