"""Template helpers: status texts, the providers (`providers[registry.kind].label`), relative
times and registry addresses, and the two filters every user-supplied string goes through:
`user_text` (a name, a username: isolated in `<bdi>`, optionally truncated with an ellipsis) and
`address` (an address or path: left-to-right, breakable only after `/` and `:`)."""

from __future__ import annotations

import re
from datetime import datetime

from flask import Flask
from markupsafe import Markup, escape

from .models import utcnow
from .registry_client.providers import PROVIDERS, describe


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return "never"
    seconds = int(((now or utcnow()) - moment).total_seconds())
    if seconds < 45:
        return "just now"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "min")):
        if seconds >= size:
            count = round(seconds / size) if size > 60 else seconds // 60
            suffix = "s" if count != 1 and unit != "min" else ""
            return f"{count} {unit}{suffix} ago"
    return "just now"


def registry_address(registry: object) -> str:
    """How a registry is named in pages: "Docker Hub/acme", "registry.example.com:5000/team"."""
    provider = PROVIDERS.get(registry.kind)  # type: ignore[attr-defined]
    host = (provider.display_host if provider else None) or registry.host  # type: ignore[attr-defined]
    namespace = registry.namespace  # type: ignore[attr-defined]
    return f"{host}/{namespace}" if namespace else host


def aws_setup(registry: object) -> dict[str, object] | None:
    """What an AWS ECR registry's pages show of its AWS side: how it signs in, its external ID,
    the token's expiry (None: unknown), and the two policies to paste; None for other kinds."""
    from flask import current_app

    from .registry_client.providers import aws_ecr

    mode = getattr(registry, "aws_auth_mode", None)
    if mode is None:
        return None
    try:
        host = aws_ecr.parse_host(registry.host)  # type: ignore[attr-defined]
    except aws_ecr.AwsAddressError:
        host = None
    platform = current_app.config.get("AWS_PLATFORM_ROLE_ARN")
    external_id = registry.aws_external_id  # type: ignore[attr-defined]
    expires = registry.token_expires_at  # type: ignore[attr-defined]
    return {
        "mode": aws_ecr.AUTH_MODES.get(mode, mode),
        "role": mode == aws_ecr.ROLE,
        "host": host,
        "external_id": external_id,
        "token_expires_at": expires if expires is not None and expires > utcnow() else None,
        "token_minted_at": registry.token_minted_at,  # type: ignore[attr-defined]
        "trust_policy": aws_ecr.trust_policy(platform, external_id)
        if mode == aws_ecr.ROLE and platform and external_id
        else None,
        "permissions_policy": aws_ecr.permissions_policy(
            host, registry.namespace  # type: ignore[attr-defined]
        ),
    }


#: The cut (`truncate=True`) markup of `user_text` and `address` around their escaped text; the
#: registry rows (webapp/registries/rows.py) fill them in themselves.
CUT_USER_TEXT = '<bdi class="truncate">{}</bdi>'
CUT_ADDRESS = '<span class="address truncate" dir="ltr">{}</span>'


def user_text(value: object, truncate: bool = False) -> Markup:
    """Text someone typed (a name, a username, an org name), isolated with `<bdi>` so a
    right-to-left name cannot reorder the words around it. `truncate=True`: one line cut with
    an ellipsis (`.truncate`), no tooltip (keyboard and touch users cannot open one): the whole
    text is on the detail page, which leaves it off."""
    text = escape("" if value is None else str(value))
    # `str.format` and f-strings, not `Markup.format` (whose string.Formatter cost more than the
    # rest of a registry row): the one non-literal piece is escaped.
    if truncate:
        return Markup(CUT_USER_TEXT.format(text))  # noqa: S704
    return Markup(f"<bdi>{text}</bdi>")  # noqa: S704


#: Where an address breaks: after each `/` and `:`.
_ADDRESS_PIECE = re.compile(r"(?<=[/:])")


def address(value: object, truncate: bool = False) -> Markup:
    """An address or image path: always left-to-right (`dir="ltr"`, so a right-to-left page
    cannot flip `host:port`), with a line-break opportunity after every `/` and `:` only, so
    it never wraps mid-token (`127.0.0.1:505` / `6`, `team-` / `a`). `truncate=True` as for
    `user_text` (one line, so no pieces)."""
    text = "" if value is None else str(value)
    # As in `user_text`: every non-literal piece is escaped.
    if truncate:  # one line: no break opportunities (Chromium breaks at <wbr> even in nowrap)
        return Markup(CUT_ADDRESS.format(escape(text)))  # noqa: S704
    # Each part up to and with its / or : is one unbreakable piece (`.address__part`, an
    # inline-block): lines break between pieces, not at the hyphens and dots inside one, unless a
    # piece alone is wider than the line.
    body = "".join(
        f'<span class="address__part">{escape(part)}</span>'
        for part in _ADDRESS_PIECE.split(text)
        if part
    )
    return Markup(f'<span class="address" dir="ltr">{body}</span>')  # noqa: S704


def init_app(app: Flask) -> None:
    from .services.registries import is_check_running

    app.jinja_env.globals["describe_status"] = describe
    app.jinja_env.globals["providers"] = PROVIDERS
    app.jinja_env.globals["is_check_running"] = is_check_running
    app.jinja_env.globals["aws_setup"] = aws_setup
    app.jinja_env.globals["utcnow"] = utcnow
    app.jinja_env.filters["ago"] = ago
    app.jinja_env.filters["registry_address"] = registry_address
    app.jinja_env.filters["user_text"] = user_text
    app.jinja_env.filters["address"] = address
