"""The registry list's rows, built in Python: `templates/registries/_rows.html` (which the list,
the one-row fragment and the tests include) calls `registry_rows`, since in Jinja a row cost
about 6% of an empty page. The markup is the one that template had, byte for byte
(tests/unit/registries/test_rows.py renders both from tests/unit/registries/reference_rows.html);
every value is escaped with `markupsafe.escape`, as `{{ }}`, `|user_text` and `|address` do,
but for a UUID's text and a datetime's ISO form (by their type, nothing in them to escape)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from operator import attrgetter, itemgetter
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from flask import Flask, url_for
from markupsafe import Markup, escape, soft_str
from sqlalchemy.engine import Row

from ..models import utcnow
from ..registry_client.providers import PROVIDERS, describe
from ..services.registries import is_check_running
from ..templating import CUT_ADDRESS, CUT_USER_TEXT, ago

#: What a row shows of a registry, in the order `render` unpacks it.
FIELDS = (
    "id", "kind", "name", "scheme", "host", "namespace", "username", "status", "status_reason",
    "last_checked_at", "lease_until", "check_requested_at",
)  # fmt: skip
#: A badge's tones; any other is shown as pending, with the spinner.
TONES = ("ok", "warn", "bad")


def _values(registries: Iterable[Any]) -> Iterator[tuple]:
    """Each registry's `FIELDS`: an ORM object's by attribute, a Core row's by position (a Core
    row's attribute costs about 3,500 instructions, its position 200); the positions are the
    first row's, since one call's rows are one result's."""
    by_attribute = attrgetter(*FIELDS)
    by_position = None
    for registry in registries:
        if isinstance(registry, Row):
            if by_position is None:
                keys = registry._fields
                by_position = itemgetter(*(keys.index(name) for name in FIELDS))
            yield by_position(registry)
        else:
            yield by_attribute(registry)


def _iso(moment: Any) -> str:
    """`{{ moment.isoformat() }}`: a datetime's is digits and `-:.+T` only, nothing to escape."""
    text = moment.isoformat()
    return text if type(moment) is datetime else escape(text)


def _text(value: object) -> str:
    """What `user_text` and `address` make of a value: None is empty."""
    return escape("" if value is None else str(value))


def render(
    registries: Iterable[Any],
    *,
    base: str,
    now: datetime,
    highlight: str | None,
    is_admin: bool,
    registry_icon: Callable[[str], Markup],
) -> Markup:
    """The rows of `registries` (ORM objects, or the list's Core rows with the same attribute
    names), each link `base` + id, ages as of `now`; the row whose id is `highlight` marked
    new; the Actions cell for admins. Each row starts with a newline, as the template's did."""
    base_html = escape(base)
    badges: dict[tuple[str, str], str] = {}  # (status, kind) -> its badge
    kinds: dict[str, tuple[str, str | None]] = {}  # kind -> its Type cell, its fixed address
    out = []
    for values in _values(registries):
        (id_, kind, name, scheme, host, namespace, username, status, reason, checked, lease,
         requested) = values  # fmt: skip
        # The two columns `is_check_running` reads (a Core row's attributes are dear).
        running = is_check_running(SimpleNamespace(lease_until=lease, check_requested_at=requested))
        if running:
            status = "checking"
        badge = badges.get((status, kind))
        if badge is None:
            text = describe(status, kind)
            tone = text.tone if text.tone in TONES else "pending"
            mark = "spinner" if tone == "pending" else "badge__dot"
            badge = badges[status, kind] = (
                f'<span class="badge badge--{escape(tone)}"><span class="{mark}" '
                f'aria-hidden="true"></span>{escape(text.label)}</span>'
            )
        kind_cells = kinds.get(kind)
        if kind_cells is None:
            spec = PROVIDERS[kind]
            kind_cells = kinds[kind] = (
                f"{registry_icon(kind)} {escape(spec.label)}",
                CUT_ADDRESS.format(_text(spec.display_host)) if spec.display_host else None,
            )
        kind_cell, fixed_address = kind_cells
        rid = soft_str(id_)  # as `|string`
        rid_html = rid if type(id_) is UUID else escape(rid)  # hex digits and dashes
        url = f"{base_html}{rid_html}"
        name_html = escape(name)  # `{{ registry.name }}`, which is `|user_text`'s for a str
        cut_name = CUT_USER_TEXT.format(name_html if type(name) is str else _text(name))
        out.append(f'\n<tr id="registry-{rid_html}"')
        if highlight and highlight == rid:
            out.append(' class="row--new"')
        if running:
            out.append(f' hx-get="{url}/row" hx-trigger="every 2s" hx-swap="outerHTML"')
        out.append(
            '>\n  <th scope="row" data-label="Name" class="table__name">'
            f'<a href="{url}">{cut_name}</a></th>\n'
            f'  <td data-label="Type" class="table__kind">{kind_cell}</td>\n'
            '  <td data-label="Registry" class="table__mono">'
            f"{fixed_address or CUT_ADDRESS.format(_text(host))}"
        )
        if namespace:
            sub = CUT_ADDRESS.format(_text(f"/{namespace}"))
            out.append(f'<span class="table__sub">{sub}</span>')
        if scheme == "http":
            out.append(' <span class="tag tag--warn insecure">HTTP — not encrypted</span>')
        out.append(
            f'</td>\n  <td data-label="Username">{CUT_USER_TEXT.format(_text(username))}</td>\n'
            f'  <td data-label="Status" class="status"><p class="status__row">{badge}\n'
            '    <span class="status__meta small muted">'
        )
        if checked:
            out.append(
                f'checked <time datetime="{_iso(checked)}">'
                f"{escape(ago(checked, now))}</time></span>"
            )
        else:
            out.append("not checked yet</span>")
        if not running and reason:
            out.append(f' <span class="status__reason small">· <bdi>{escape(reason)}</bdi></span>')
        out.append("</p></td>")
        if is_admin:
            out.append(
                '\n  <td class="table__actions" data-label="Actions"><div class="menu" data-menu '
                'data-row hx-boost="false"><a class="btn btn--small menu__button" '
                f'href="{url}#actions">Actions<span class="visually-hidden"> for '
                f"<bdi>{name_html}</bdi></span></a></div></td>"
            )
        out.append("\n</tr>")
    return Markup("".join(out))  # noqa: S704  (every value above is escaped)


def init_app(app: Flask) -> None:
    def registry_rows(
        registries: Iterable[Any],
        rows_base: str | None = None,
        now: datetime | None = None,
        highlight: str | None = None,
        is_admin: bool = False,
    ) -> Markup:
        """`_rows.html`'s one call: the list's URL by default, the time by default now."""
        return render(
            registries,
            base=rows_base or url_for("registries.index"),
            now=now or utcnow(),
            highlight=highlight,
            is_admin=bool(is_admin),
            registry_icon=app.jinja_env.globals["registry_icon"],  # type: ignore[arg-type]
        )

    app.jinja_env.globals["registry_rows"] = registry_rows
