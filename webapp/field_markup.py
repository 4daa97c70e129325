"""The form field markup: `render_field`, `form_errors` and `choice_cards`, which templates import
from `_macros/forms.html` (the entry point, with what each one renders) and which live here, as
the template global `field_markup`. The macros cost about 6% of wizard step 2 (1.05 M of its
17.9 M instructions per request, bench/instructions.py); these build the same bytes from
strings. What a field costs now is mostly WTForms building its control (whose attributes
`webapp/widget_attributes.py` writes without `Markup.format`).

Every value from outside (labels, help, errors, attributes, what was typed) goes through
`markupsafe.escape` exactly where the macros printed it with `{{ }}`; WTForms renders its own
controls (`field(**attrs)`, `label(...)`), as the macros had it do. tests/unit/forms/
test_field_markup.py renders thousands of cases both ways against a copy of the macros.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import SimpleNamespace
from typing import Any

from flask import Flask
from jinja2.runtime import markup_join
from markupsafe import Markup, escape, soft_str

_HIDDEN_TYPES = ("HiddenField", "CSRFTokenField")
_FIELDSET_TYPES = ("RadioField", "SelectMultipleField")
_OPTIONAL = ' <span class="field__optional">(optional)</span>'
_EXPIRED = "This form expired before it was sent. Reload the page and try again."
_RETYPE = (" again: for your safety it is not kept when the form comes back with a problem."
           "</p>")


def init_app(app: Flask) -> None:
    app.jinja_env.globals["field_markup"] = SimpleNamespace(
        render_field=render_field, form_errors=form_errors, choice_cards=choice_cards
    )


def _join(items: Iterable[Any]) -> str:
    """Jinja's `items|join(" ")` with autoescape: Markup when one of them is."""
    items = list(items)
    if any(hasattr(item, "__html__") for item in items):
        return Markup(" ").join(items)
    return " ".join(map(str, items))


# The markup is built from f-strings and "".join, never with `+` on a Markup: `"<p>" + Markup`
# would escape the "<p>" (Markup.__radd__). What the functions wrap as Markup (S704) is these
# constants and values that went through `escape` or are WTForms' own rendering.


def _help(text: Any, help_id: str) -> str:
    if not text:
        return ""
    return f'<p class="field__help" id="{escape(help_id)}">{escape(text)}</p>'


def _errors(errors: Any, error_id: str, extra: Any = None) -> str:
    if not errors:
        return ""
    more = f" {escape(extra)}" if extra else ""
    return f'<p class="field__error" id="{escape(error_id)}">{escape(_join(errors))}{more}</p>'


def render_field(field: Any, help: Any = None, error_extra: Any = None, **kwargs: Any) -> Markup:
    """A WTForms field as label, help, error and control (what `_macros/forms.html` says)."""
    widget_type = getattr(field.widget, "input_type", "")
    if widget_type == "hidden" or field.type in _HIDDEN_TYPES:
        return escape(field(**kwargs))
    attrs = {key: value for key, value in kwargs.items() if value is not None}
    help_text = help if help is not None else (field.description or None)
    field_id = field.id
    help_id = field_id + "-help"  # as Jinja's `~`: Markup if the id is
    error_id = field_id + "-error"
    errors = field.errors
    retype = (widget_type == "password" and not errors and field.raw_data
              and field.raw_data[0])
    ids = []
    if help_text:
        ids.append(help_id)
    if retype:
        ids.append(field_id + "-retype")
    if errors:
        ids.append(error_id)
        attrs["aria-invalid"] = "true"
    flags = field.flags
    optional = flags.optional and not flags.required
    # aria-describedby: what the caller gave, then the help and error ids
    given = (attrs.pop("aria_describedby", "") or "", attrs.pop("aria-describedby", "") or "")
    joined = _join(ids)
    if given[0] or given[1]:
        described = markup_join((markup_join((given[0], " ", given[1])), " ", joined)).strip()
    else:
        described = ("  " + joined).strip()
    if described:
        attrs["aria-describedby"] = described
    label_text = escape(field.label.text)
    error_class = " field--error" if errors else ""
    optional_mark = _OPTIONAL if optional else ""
    help_markup = _help(help_text, help_id)

    if field.type in _FIELDSET_TYPES:
        described_by = attrs.pop("aria-describedby", None)
        attrs.pop("id", None)
        described_attr = f' aria-describedby="{escape(described_by)}"' if described_by else ""
        parts = [
            f'\n<fieldset class="field{error_class}" id="{escape(field_id)}"{described_attr}>'
            f'\n  <legend class="field__label">{label_text}{optional_mark}</legend>'
            f'\n  {help_markup}\n  {_errors(errors, error_id)}\n  <div class="choice-list">'
        ]
        for sub in field:
            parts.append(f'\n    <div class="choice">{escape(sub(**attrs))} '
                         f"{escape(sub.label())}</div>")
        parts.append("\n  </div>\n</fieldset>")
        return Markup("".join(parts))  # noqa: S704

    if widget_type == "checkbox":
        return Markup(  # noqa: S704
            f'<div class="field field--check{error_class}">\n  {escape(field(**attrs))}'
            f'\n  {escape(field.label(class_="field__label"))}\n  {help_markup}'
            f"\n  {_errors(errors, error_id)}\n</div>"
        )

    if widget_type == "password":
        attrs["value"] = ""
        if "autocomplete" not in attrs:
            attrs["autocomplete"] = "new-password"
    retype_note = (
        f'\n  <p class="field__retype" id="{escape(field_id)}-retype">Type the '
        f"{escape(soft_str(field.label.text).lower())}{_RETYPE}" if retype else ""
    )
    return Markup(  # noqa: S704
        f'\n<div class="field{error_class}">'
        f'\n  <label class="field__label" for="{escape(attrs.get("id") or field_id)}">'
        f"{label_text}{optional_mark}</label>\n  {help_markup}"
        f"\n  {_errors(errors, error_id, error_extra)}{retype_note}"
        f"\n  {escape(field(**attrs))}\n</div>"
    )


def form_errors(form: Any) -> Markup:
    """Form-level errors and those of hidden fields (an expired CSRF token), as a banner."""
    messages = list(getattr(form, "form_errors", ()))
    for field in form:
        if field.errors and (field.type in _HIDDEN_TYPES
                             or getattr(field.widget, "input_type", None) == "hidden"):
            if field.type == "CSRFTokenField":
                messages.append(_EXPIRED)
            else:
                messages.extend(field.errors)
    if not messages:
        return Markup("")
    if len(messages) == 1:
        body = f"\n    <p>{escape(messages[0])}</p>"
    else:
        items = "".join([f"<li>{escape(message)}</li>" for message in messages])
        body = f"\n    <ul>{items}</ul>"
    return Markup(  # noqa: S704
        '\n<div class="banner banner--bad" role="alert" tabindex="-1" data-autofocus>\n'
        f'  <div class="banner__content">\n    <p class="banner__title">There is a problem</p>'
        f"{body}\n  </div>\n</div>"
    )


def choice_cards(
    field: Any, descriptions: Mapping[Any, Any] | None = None,
    icon: Callable[[Any], Any] | None = None,
) -> Markup:
    """A RadioField as large choice cards (wizard step 1)."""
    help_text = field.description or None
    field_id = field.id
    errors = field.errors
    help_id = field_id + "-help"
    error_id = field_id + "-error"
    ids = []
    if help_text:
        ids.append(help_id)
    if errors:
        ids.append(error_id)
    described_attr = f' aria-describedby="{escape(_join(ids))}"' if ids else ""
    parts = [
        f'\n<fieldset class="choice-cards{" field--error" if errors else ""}" '
        f'id="{escape(field_id)}"{described_attr}>\n  <legend>{escape(field.label.text)}</legend>'
        f"\n  {_help(help_text, help_id)}\n  {_errors(errors, error_id)}"
        '\n  <div class="choice-cards__grid">'
    ]
    invalid = "true" if errors else False
    for sub in field:
        desc = descriptions.get(sub.data) if descriptions else None
        sub_id = sub.id
        control = sub(class_="choice-card__input", aria_labelledby=sub_id + "-title",
                      aria_describedby=(sub_id + "-desc") if desc else False,
                      aria_invalid=invalid)
        shown_id = escape(sub_id)
        icon_markup = (f'<span class="choice-card__icon">{escape(icon(sub.data))}</span>'
                       if icon else "")
        desc_markup = (f'<span class="choice-card__desc" id="{shown_id}-desc">{escape(desc)}'
                       "</span>" if desc else "")
        parts.append(
            f'\n    <div class="choice-card">\n      {escape(control)}'
            f'\n      <label class="choice-card__label" for="{shown_id}">{icon_markup}'
            f'\n        <span class="choice-card__title" id="{shown_id}-title">'
            f"{escape(sub.label.text)}</span>{desc_markup}\n      </label>\n    </div>"
        )
    parts.append("\n  </div>\n</fieldset>")
    return Markup("".join(parts))  # noqa: S704
