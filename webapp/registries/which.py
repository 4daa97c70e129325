"""The Container Registry page's "Which registry will pull this image?" question.

A GET form (no state changes, so no CSRF token) that anyone who may see the registry list may
use: it answers with the registry the runner API would hand out for the image and why, or why
none would be. htmx swaps only the answer while the person types (debounced); without
JavaScript the form submits to the same URL and gets a whole page.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import Length, Optional

from .. import htmx
from ..access import current_org
from ..forms import WebForm, strip
from ..models import Registry
from ..registry_client.reference import (
    MAX_REFERENCE_LENGTH,
    ImageReference,
    InvalidReference,
    parse_reference,
)
from ..registry_client.resolve import Resolution
from ..services import resolution
from . import bp


class WhichRegistryForm(WebForm):
    image = StringField(
        "Image reference",
        id="which-image",
        description="For example ghcr.io/acme/tool:1.0, acme/tool or "
        "registry.example.com:5000/team/app.",
        filters=[strip],
        validators=[Optional(), Length(max=MAX_REFERENCE_LENGTH)],
    )


@dataclass(frozen=True)
class Answer:
    """What the page says: nothing yet, why the text is not an image, or the resolution."""

    reference: ImageReference | None = None
    problem: str | None = None
    resolution: Resolution[Registry] | None = None


def answer_for(text: str) -> Answer:
    if not text:
        return Answer()
    try:
        reference = parse_reference(text)
    except InvalidReference as error:
        return Answer(problem=str(error))
    return Answer(reference, resolution=resolution.resolve(current_org().id, reference))


@bp.route("/which")
def which() -> Response:
    form = WhichRegistryForm(formdata=request.args, meta={"csrf": False})
    form.validate()
    return htmx.render(
        "registries/which.html",
        "registries/_which_registry_result.html",
        which_form=form,
        answer=answer_for(form.image.data or ""),
        nav_active="container_registry",
    )
