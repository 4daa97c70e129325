"""Forms of the Private tools page. Uniqueness of names needs the database: the tools service
checks it and the views put its error beside the name field."""

from __future__ import annotations

from wtforms import Field, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from ..forms import WebForm, no_hidden_controls, single_line, strip
from ..registry_client.reference import InvalidReference, parse_reference

NAME_MAX = 64
IMAGE_MAX = 512

def check_image(form: WebForm, field: Field) -> None:
    """The image must be a reference `docker pull` accepts; the parser's reason is shown."""
    try:
        parse_reference(field.data or "")
    except InvalidReference as error:
        raise ValidationError(f"That is not an image reference: {error}.") from None


def _name_field() -> StringField:
    return StringField(
        "Name",
        description="How the tool is shown here, e.g. “Scanner”.",
        filters=[strip],
        validators=[
            DataRequired("Give the tool a name."),
            Length(max=NAME_MAX, message=f"Keep the name to {NAME_MAX} characters or fewer."),
            single_line,
            no_hidden_controls,
        ],
    )


class ToolAddForm(WebForm):
    name = _name_field()
    image = StringField(
        "Image",
        description="The container image, as you would give it to docker pull, e.g. "
        "ghcr.io/acme/scanner:1.4 or registry.example.com:5000/team/tool.",
        filters=[strip],
        validators=[
            DataRequired("Enter the image."),
            Length(max=IMAGE_MAX, message="That is too long to be an image reference."),
            check_image,
        ],
    )


class ToolRenameForm(WebForm):
    name = _name_field()
