"""The wizard's drafts: the token a Connect form carries, which draft it names, and connecting.

Step 2's form carries a signed token naming the draft it creates or edits, so a second click
(or a double click) finds the same row instead of making another. Connecting saves the draft
(`registries.save_draft`), commits, then asks for its check; the check makes the draft active
once it passes (`registries.activate`). The REST API's "create a registry" takes this path too
(with no user: the actor is its token).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from ..extensions import db
from ..models import Organization, Registry, User
from ..registry_client.providers import aws_ecr
from . import checks, registries


class FormExpired(ValueError):
    """The form's draft token is missing, forged or of another org."""

    def __init__(self) -> None:
        super().__init__("This form expired. Reload the page and enter the details again.")


class DraftGone(ValueError):
    """The draft this form made was removed or discarded since; `fresh_token` starts afresh."""

    def __init__(self, fresh_token: str) -> None:
        super().__init__(
            "That registry was removed meanwhile. Check the details and connect again."
        )
        self.fresh_token = fresh_token


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="registry-draft")


def token(org: Organization, registry_id: uuid.UUID) -> str:
    """A token naming the draft a wizard form creates: a double submit finds the same row.

    It also carries the external ID generated for that draft (an AWS ECR role's trust policy
    names it): made here, before the draft exists, so the wizard can show it, and signed, so
    nobody can choose one (another org's, say). An existing registry keeps the one it has.
    """
    return _serializer().dumps(
        {"org": org.id, "id": str(registry_id), "ext": aws_ecr.new_external_id()}
    )


def external_id(draft_token: str | None) -> str | None:
    """The external ID a (signed) draft token carries; None for none or a forged one. Which
    org the token is of is `id_from`'s to check."""
    if not draft_token:
        return None
    try:
        value = _serializer().loads(draft_token).get("ext")
    except (BadSignature, AttributeError):
        return None
    return value if isinstance(value, str) else None


def id_from(org: Organization, draft_token: str | None) -> uuid.UUID | None:
    if not draft_token:
        return None
    try:
        data = _serializer().loads(draft_token)
        if data.get("org") != org.id:
            return None
        return uuid.UUID(data["id"])
    except (BadSignature, KeyError, TypeError, ValueError, AttributeError):
        return None


@dataclass(frozen=True)
class Slot:
    """The draft a Connect form names: its id, and whether an earlier click connected it."""

    registry_id: uuid.UUID
    connected: bool


def slot(org: Organization, draft_token: str | None) -> Slot:
    """Which draft the form names. Raises FormExpired, or DraftGone for a draft removed or
    discarded since; `connected` when the first click already connected it (nothing to do)."""
    registry_id = id_from(org, draft_token)
    if registry_id is None:
        raise FormExpired()
    existing = db.session.get(Registry, registry_id)
    if existing is None:
        return Slot(registry_id, connected=False)
    if existing.org_id == org.id and existing.state == "active":
        return Slot(registry_id, connected=True)
    if existing.org_id != org.id or existing.state != "draft":
        raise DraftGone(token(org, uuid.uuid4()))
    return Slot(registry_id, connected=False)


#: The status reason of an AWS ECR role draft saved without its role ARN (the REST API's first
#: step): nothing was checked yet.
AWAITING_ROLE = (
    "Waiting for the role ARN: create the role in AWS with the trust and permissions policies "
    "shown, then send its ARN to run the connect check."
)


def awaits_role(registry: Registry) -> bool:
    """An AWS ECR draft in role mode whose role ARN is still to come (no check to run)."""
    return (registry.state == "draft" and registry.aws_auth_mode == aws_ecr.ROLE
            and not registry.aws_role_arn)


def save_awaiting_role(
    org: Organization, details: registries.RegistryDetails, registry_id: uuid.UUID
) -> None:
    """Save (or update) an AWS ECR role draft that has no role ARN yet, and commit; no check
    runs (there is nothing to assume). Its external ID is the one `details` carries, kept from
    then on. Raises RegistryConflict, with the session rolled back."""
    try:
        registry = registries.save_draft(org, None, details, registry_id)
        registry.status_reason = AWAITING_ROLE
        registries.commit(org, details.name, details.host, details.namespace, registry_id)
    except registries.RegistryConflict:
        db.session.rollback()
        raise


def connect(
    org: Organization,
    user: User | None,
    details: registries.RegistryDetails,
    registry_id: uuid.UUID,
) -> None:
    """Save the draft, commit, and ask for its check (after the commit).

    Raises RegistryConflict or SecretRequired, with the session rolled back. A conflict that is
    the other click of a double click having saved this very draft first is no conflict: that
    click asked for the check.
    """
    try:
        registry = registries.save_draft(org, user, details, registry_id)
        registries.commit(org, details.name, details.host, details.namespace, registry_id)
    except registries.RegistryConflict as conflict:
        db.session.rollback()
        if conflict.existing is None and db.session.get(Registry, registry_id) is not None:
            return
        raise
    except registries.SecretRequired:
        db.session.rollback()
        raise
    checks.request_check(registry.id, "connect", user.id if user is not None else None)
