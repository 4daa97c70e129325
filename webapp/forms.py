"""What every HTML form of the app shares: the base class that reads form fields and nothing
else, the one-button form, and the filters and validators several forms use."""

from __future__ import annotations

import unicodedata
from typing import Any

from flask import request
from flask_wtf import FlaskForm
from wtforms import Field, FileField
from wtforms.validators import ValidationError


class WebForm(FlaskForm):
    """A FlaskForm that reads `request.form` only, never a JSON body.

    Flask-WTF falls back to `request.get_json()` when a submission has no form fields, so a
    JSON body filled the form with values of any type (a number where an email goes: a 500) and
    skipped every guard that reads `request.form`. The request hook refuses such bodies (415);
    this is the other half. Uploaded files are read only by a form that has a file field, so a
    multipart part with a file name can never stand in for a text field.
    """

    class Meta:
        def wrap_formdata(self, form: FlaskForm, formdata: Any) -> Any:
            if formdata is None or hasattr(formdata, "getlist"):
                return formdata  # given explicitly (a GET form passes request.args)
            # Flask-WTF's "read the request" default.
            if not form.is_submitted() or not (request.form or request.files):
                return None
            if request.files and any(isinstance(field, FileField) for field in form):
                return super().wrap_formdata(form, formdata)  # Flask-WTF's: files and fields
            return request.form or None


class EmptyForm(WebForm):
    """CSRF for one-button actions (Check now, Save anyway, Discard)."""


def strip(value: object) -> object:
    """A filter: text without the spaces around it (what people paste often has some)."""
    return value.strip() if isinstance(value, str) else value


#: Control characters (CR, LF, tab, NUL, …) and the Unicode line and paragraph separators.
_NOT_ON_ONE_LINE = frozenset({"Cc", "Zl", "Zp"})


def single_line(form: FlaskForm, field: Field) -> None:
    """Names are one line of text: no line breaks, tabs or other control characters (letters
    of any script, emoji and their joiners are fine)."""
    if isinstance(field.data, str) and any(
        unicodedata.category(char) in _NOT_ON_ONE_LINE for char in field.data
    ):
        raise ValidationError("Use one line of text, without line breaks or control characters.")


#: Characters that change the direction of the text around them (LRE, RLE, PDF, LRO, RLO and
#: the isolates LRI, RLI, FSI, PDI), the direction marks, and the invisible ones (zero-width
#: space, word joiner, byte-order mark, Mongolian vowel separator). In a name they make it show
#: reversed, leak into the text beside it, or look like another name. The zero-width joiner and
#: non-joiner stay allowed: emoji sequences and several scripts need them.
HIDDEN_CONTROLS = frozenset(
    [chr(code) for code in range(0x202A, 0x202F)]
    + [chr(code) for code in range(0x2066, 0x206A)]
    + ["\u200e", "\u200f", "\u061c", "\u200b", "\u2060", "\ufeff", "\u180e"]
)


def no_hidden_controls(form: FlaskForm, field: Field) -> None:
    """Names show as typed: no direction controls or invisible characters."""
    if not isinstance(field.data, str):
        return
    found = next((char for char in field.data if char in HIDDEN_CONTROLS), None)
    if found is not None:
        name = unicodedata.name(found, "invisible character").lower()
        raise ValidationError(
            f"Remove the invisible character (U+{ord(found):04X}, {name}): names cannot hold "
            "characters that reverse text or hide. Type the name again, or paste it as plain "
            "text."
        )
