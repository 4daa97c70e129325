"""The runner tokens page's form. Uniqueness of names needs the database: the service checks it
and the view puts its error beside the name field."""

from __future__ import annotations

from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Regexp

from ..forms import WebForm, single_line, strip
from ..services.runner_tokens import EXPIRY_DAYS, NAME_PATTERN

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

    def expires_in_days(self) -> int | None:
        return None if self.expires.data == NEVER else int(self.expires.data)
