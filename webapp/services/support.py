"""What support staff look at across orgs: the registry search, an org's runner tokens, the
runner tokens that used a registry lately, and recording their looks.

The search is two statements whatever the number of registries: one count and one page of
rows joined to their org (no per-row queries), backed by the indexes of migration 0007
(`ix_registries_state_created`, `ix_registries_state_status`). The text search is a
case-insensitive substring match over org name and slug, registry name, host, namespace and
username.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Select, func, or_, select

from ..extensions import db
from ..models import (
    ACTIVE_REGISTRY,
    PLANS,
    AuditEvent,
    Organization,
    Registry,
    RunnerToken,
    User,
    utcnow,
)
from ..registry_client import statuses
from ..registry_client.providers import PROVIDERS
from . import audit
from .pull_credentials import ACTION as HANDED_OUT
from .pull_credentials import PULL_TOKEN_ACTION

#: Both kinds of hand-off a runner token makes: the password, and a pull token.
HAND_OFF_ACTIONS = (HANDED_OUT, PULL_TOKEN_ACTION)

PER_PAGE = 50
MAX_PAGE = 10_000
FAILING_FOR = timedelta(days=1)
#: How long a support look counts as one in the org's audit log.
LOOK_BUCKET = "%Y-%m-%dT%H"

#: The status filter: key → label; "failing" is every failing status, the others one each.
STATUS_CHOICES: dict[str, str] = {
    "failing": "Any failure",
    **{str(status): statuses.text(status, {s: "" for s in statuses.Status}).label
       for status in statuses.Status},
}


@dataclass
class Filters:
    q: str = ""
    kind: str = ""
    status: str = ""
    plan: str = ""
    failing_day: bool = False
    page: int = 1
    #: Set by the org overview (never from the query string): one org's registries.
    org_id: int | None = None

    @classmethod
    def from_args(cls, args) -> Filters:
        """From a query string; values it does not know are dropped, never an error."""
        kind, status, plan = args.get("kind", ""), args.get("status", ""), args.get("plan", "")
        try:
            page = min(max(int(args.get("page", 1)), 1), MAX_PAGE)
        except (TypeError, ValueError):
            page = 1
        return cls(
            q=" ".join(args.get("q", "").split())[:200],
            kind=kind if kind in PROVIDERS else "",
            status=status if status in STATUS_CHOICES else "",
            plan=plan if plan in PLANS else "",
            failing_day=args.get("failing_day") in ("1", "on", "true", "y"),
            page=page,
        )

    def args(self, base: dict | None = None, **changed) -> dict[str, str]:
        """The query string of these filters (empty ones left out), with `changed` applied,
        after `base` (a route's own arguments)."""
        values = {"q": self.q, "kind": self.kind, "status": self.status, "plan": self.plan,
                  "failing_day": "1" if self.failing_day else "", "page": self.page}
        values.update(changed)
        if values.get("page") == 1:
            values["page"] = ""
        kept = {key: str(value) for key, value in values.items() if value not in ("", None)}
        return {**(base or {}), **kept}

    @property
    def any(self) -> bool:
        return bool(self.q or self.kind or self.status or self.plan or self.failing_day)


@dataclass
class Page:
    rows: list[tuple[Registry, Organization]]
    total: int
    filters: Filters
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        self.pages = max(1, -(-self.total // PER_PAGE))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(query: Select, filters: Filters) -> Select:
    query = query.where(ACTIVE_REGISTRY)
    if filters.org_id is not None:
        query = query.where(Registry.org_id == filters.org_id)
    if filters.q:
        pattern = f"%{_escape_like(filters.q.lower())}%"
        query = query.where(
            or_(
                *(func.lower(column).like(pattern, escape="\\") for column in (
                    Organization.name, Organization.slug, Registry.name, Registry.host,
                    Registry.namespace, Registry.username,
                ))
            )
        )
    if filters.kind:
        query = query.where(Registry.kind == filters.kind)
    failing = tuple(str(s) for s in statuses.FAILING)
    if filters.status == "failing":
        query = query.where(Registry.status.in_(failing))
    elif filters.status:
        query = query.where(Registry.status == filters.status)
    if filters.plan:
        query = query.where(Organization.plan == filters.plan)
    if filters.failing_day:
        since = utcnow() - FAILING_FOR
        query = query.where(
            Registry.status.in_(failing),
            or_(
                Registry.last_success_at < since,
                Registry.last_success_at.is_(None) & (Registry.created_at < since),
            ),
        )
    return query


def search(filters: Filters) -> Page:
    """A page of active registries across every org, newest first: two statements."""
    joined = select(Registry, Organization).join(Organization, Organization.id == Registry.org_id)
    total = db.session.scalar(
        _filtered(
            select(func.count()).select_from(Registry).join(
                Organization, Organization.id == Registry.org_id
            ),
            filters,
        )
    ) or 0
    pages = max(1, -(-total // PER_PAGE))
    filters.page = min(filters.page, pages)
    query = (
        _filtered(joined, filters)
        .order_by(Registry.created_at.desc(), Registry.id.desc())
        .limit(PER_PAGE)
        .offset((filters.page - 1) * PER_PAGE)
    )
    return Page(rows=[(row[0], row[1]) for row in db.session.execute(query)], total=total,
                filters=filters)


@dataclass(frozen=True)
class TokenUse:
    """A runner token that fetched credentials of a registry (or org): when last, how often."""

    token_id: str
    name: str
    last_used: object
    hand_offs: int
    status: str
    scope: str = "platform"


def _token_uses(where, limit: int) -> list[TokenUse]:
    """Runner tokens as the audit log's hand-off rows know them (one row per token, registry
    and hour), with the token's own row for its status: two statements."""
    rows = db.session.execute(
        select(
            AuditEvent.actor_id,
            func.max(AuditEvent.actor_label),
            func.max(AuditEvent.created_at),
            func.sum(AuditEvent.count),
        )
        .where(AuditEvent.action.in_(HAND_OFF_ACTIONS), AuditEvent.actor_kind == "runner", where)
        .group_by(AuditEvent.actor_id)
        .order_by(func.max(AuditEvent.created_at).desc())
        .limit(limit)
    ).all()
    ids = [int(row[0]) for row in rows if row[0] and str(row[0]).isdigit()]
    tokens = {
        token.id: token
        for token in db.session.scalars(select(RunnerToken).where(RunnerToken.id.in_(ids)))
    } if ids else {}
    uses = []
    for actor_id, label, last, count in rows:
        token = tokens.get(int(actor_id)) if actor_id and str(actor_id).isdigit() else None
        name = token.name if token else label.removeprefix("runner token ")
        status = token.status() if token is not None else "revoked"
        scope = "org" if token is not None and token.org_id is not None else "platform"
        last_used = token.last_used_at if token and token.last_used_at else last
        uses.append(TokenUse(str(actor_id), name, last_used, int(count or 0), status, scope))
    return uses


def tokens_for_registry(registry: Registry, limit: int = 20) -> list[TokenUse]:
    return _token_uses(AuditEvent.target_id == str(registry.id), limit)


def tokens_for_org(org: Organization, limit: int = 50) -> list[TokenUse]:
    return _token_uses(AuditEvent.org_id == org.id, limit)


def record_look(user: User, action: str, org_id: int, target: tuple[str, str, str]) -> bool:
    """"Support viewed …" in the org's audit log, at most once per support user, target and
    hour, in a short write transaction of its own. True when this look wrote the row."""
    kind, target_id, _ = target
    bucket = f"support-look:{user.id}:{kind}:{target_id}:{utcnow():{LOOK_BUCKET}}"
    return audit.record_once(bucket, action, org=org_id, target=target,
                             actor=audit.Actor.of_user(user))


def registry_or_none(registry_id: uuid.UUID) -> Registry | None:
    registry = db.session.get(Registry, registry_id)
    return registry if registry is not None and registry.state == "active" else None
