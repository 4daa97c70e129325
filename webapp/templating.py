"""Template helpers: status texts, the providers (`providers[registry.kind].label`), relative
times and registry addresses."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

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


def init_app(app: Flask) -> None:
    from .services.registries import is_check_running

    app.jinja_env.globals["describe_status"] = describe
    app.jinja_env.globals["providers"] = PROVIDERS
    app.jinja_env.globals["is_check_running"] = is_check_running
    app.jinja_env.globals["utcnow"] = utcnow
    app.jinja_env.filters["ago"] = ago
    app.jinja_env.filters["registry_address"] = registry_address
