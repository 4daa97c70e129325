"""The runner tokens page's form. Uniqueness of names needs the database: the service checks it
and the view puts its error beside the name field."""

from __future__ import annotations

from wtforms import SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import WebForm, single_line, strip
from ..services.runner_tokens import EXPIRY_DAYS, NAME_PATTERN

#: The permissions a token may have, as the page offers them (models.TOKEN_PERMISSIONS).
PERMISSION_CHOICES = [
    SelectChoice("pull", "Pull images: fetch pull credentials (runners)"),
    SelectChoice("read", "Read: registries, tools, checks and audit events (REST API)"),
    SelectChoice("manage", "Manage: create, change and remove registries and tools (REST API)"),
]

NEVER = "never"


class RunnerTokenCreateForm(WebForm):
    name = StringField(
        "Name",
        description="Which machine or group of machines uses it, e.g. “build-farm-1”: letters, "
        "digits, '.', '_' or '-', up to 64.",
        filters=[strip],
        validators=[
            DataRequired("Give the token a name."),
            single_line,
            Regexp(
                NAME_PATTERN,
                message="Use 1-64 letters, digits, '.', '_' or '-', starting with a letter "
                "or digit.",
            ),
        ],
    )
    expires = SelectField(
        "Expires",
        description="After this the token stops working; you can revoke it any time before.",
        choices=[SelectChoice(NEVER, "Never")]
        + [SelectChoice(str(days), f"In {days} days") for days in EXPIRY_DAYS],
        default=NEVER,
    )

    permissions = SelectMultipleField(
        "Permissions",
        description="What the token may do. Pull images is what runners need; give read or "
        "manage only to scripts that automate this organization.",
        choices=PERMISSION_CHOICES,
        default=["pull"],
        validators=[DataRequired("Choose at least one permission.")],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )

    def expires_in_days(self) -> int | None:
        return None if self.expires.data == NEVER else int(self.expires.data)
