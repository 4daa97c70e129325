"""Routes read from the URL map, with sample values, so rule tests cover every new route."""

from __future__ import annotations

import uuid

from tests.support.apps import make_app, make_config

SAMPLE_VALUES = {"slug": "acme", "id": str(uuid.uuid4()), "registry_id": str(uuid.uuid4()),
                 "kind": "docker_registry", "tool_id": "1", "token_id": "1", "filename": "app.css"}

# The one view allowed to skip CSRF: the runner API authenticates with its own token.
CSRF_EXEMPT_ENDPOINTS = {"api.pull_credentials"}


def all_routes(prefix: str = "/", methods: set[str] | None = None,
               values: dict[str, str] | None = None):
    """(method, path, endpoint) for every rule under `prefix`; `values` overrides samples."""
    app = make_app(make_config("sqlite://"))
    samples = {**SAMPLE_VALUES, **(values or {})}
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(prefix):
            continue
        path = rule.rule
        for name in rule.arguments:
            for converter in ("", "uuid:", "int:", "path:"):
                path = path.replace(f"<{converter}{name}>", samples[name])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if methods is None or method in methods:
                routes.append((method, path, rule.endpoint))
    return routes
