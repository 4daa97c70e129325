"""Registry rows for tests, made the way the app makes them: a UUID known before insert and the
secret sealed to the row. Call inside an app context."""

from __future__ import annotations

import uuid

from webapp.extensions import db
from webapp.models import Registry
from webapp.services import accounts, credentials


def registry_row(
    org: str | int = "acme",
    *,
    secret: str,
    host: str | None = None,
    username: str = "alice",
    name: str | None = None,
    kind: str = "docker_registry",
    namespace: str = "",
    ca_pem: str | None = None,
    state: str = "active",
    status: str = "checking",
    commit: bool = True,
    registry_id: uuid.UUID | None = None,
) -> Registry:
    """An added registry (committed unless `commit=False`); the org by slug or id."""
    org_id = org if isinstance(org, int) else accounts.find_org(org).id
    name = name or f"r-{uuid.uuid4().hex[:8]}"
    registry = Registry(
        id=registry_id or uuid.uuid4(), org_id=org_id, kind=kind, name=name, name_key=name.lower(),
        host=host or f"r{uuid.uuid4().hex[:8]}.example.com", namespace=namespace,
        username=username, state=state, status=status, ca_certificate=ca_pem,
    )
    credentials.store_secret(registry, secret)
    db.session.add(registry)
    if commit:
        db.session.commit()
    return registry
