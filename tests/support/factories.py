"""Rows for tests, made the way the app makes them: orgs and users (`Factory`, through the
account service), and registries (`registry_row`: a UUID known before insert, the secret sealed
to the row; call it inside an app context)."""

from __future__ import annotations

import uuid

from flask import Flask

from webapp.extensions import db
from webapp.models import Organization, Registry, User
from webapp.services import accounts, credentials

from .apps import PASSWORD


class Factory:
    def __init__(self, app: Flask):
        self.app = app
        self._count = 0

    def org(self, slug: str | None = None, plan: str = "enterprise", name: str | None = None):
        self._count += 1
        slug = slug or f"org{self._count}"
        with self.app.app_context():
            org = accounts.create_org(slug, name or slug.title(), plan)
            db.session.commit()
            return org.slug

    def user(self, email: str | None = None, org: str | None = None, role: str = "admin",
             support: bool = False) -> str:
        self._count += 1
        email = email or f"user{self._count}@example.com"
        with self.app.app_context():
            org_row = accounts.find_org(org) if org else None
            accounts.create_user(email, PASSWORD, org=org_row, role=role, support=support)
            db.session.commit()
        return email


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


def org_row(slug: str) -> Organization:
    return db.session.query(Organization).filter_by(slug=slug).one()


def user_row(email: str) -> User:
    return db.session.query(User).filter_by(email=email).one()
