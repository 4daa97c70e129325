"""Which of an org's registries pulls an image: the database side of `registry_client.resolve`.

`registry_client.resolve.explain` decides among the candidates it is given; this module fetches
them. A registry can only serve an image when its host is one of `candidate_hosts(reference)`
and its namespace is a segment prefix of the image's path (`''`, `acme`, `acme/team`, …), so
the first query asks for exactly those (host, namespace) pairs among the org's active
registries: the partial unique index on (org, host, namespace) of active rows answers it, and
the rows it returns are the covering registries only, however many registries the org has on
the same host (10,000 GitHub namespaces included).

Only when an image matches nothing does a second query read the host's other registries, as
(host, namespace) columns and nothing more, so that the reason can name the registries that do
not cover the image ("registry for ghcr.io/acme does not cover acme-evil/tool").

Both queries are per batch, not per image: a page that shows many tools costs at most two.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from ..extensions import db
from ..models import ACTIVE_REGISTRY, Registry
from ..registry_client.reference import ImageReference
from ..registry_client.resolve import Resolution, candidate_hosts, covers, explain

__all__ = ["resolve", "resolve_many", "segment_prefixes"]


def segment_prefixes(path: str) -> list[str]:
    """Every namespace that covers `path`: `a/b/c` -> `['', 'a', 'a/b', 'a/b/c']`."""
    parts = path.split("/")
    return [""] + ["/".join(parts[: index + 1]) for index in range(len(parts))]


#: Path prefixes bound into one query at most; past that the hosts alone narrow the rows.
MAX_BOUND_NAMESPACES = 2000


def resolve(org_id: int, reference: ImageReference) -> Resolution[Registry]:
    """The org's active registry that pulls `reference`, with the reason (see `explain`)."""
    return resolve_many(org_id, [reference])[reference]


def resolve_many(
    org_id: int, references: Iterable[ImageReference]
) -> dict[ImageReference, Resolution[Registry]]:
    """Resolve several images of one org with at most two queries, whatever their number."""
    wanted = list(dict.fromkeys(references))
    if not wanted:
        return {}
    hosts = {host for reference in wanted for host in candidate_hosts(reference)}
    namespaces = {prefix for reference in wanted for prefix in segment_prefixes(reference.path)}
    query = select(Registry).where(
        Registry.org_id == org_id, ACTIVE_REGISTRY, Registry.host.in_(hosts)
    )
    if len(hosts) + len(namespaces) <= MAX_BOUND_NAMESPACES:
        query = query.where(Registry.namespace.in_(namespaces))
    # else: too many prefixes to bind (databases cap parameters); `explain` picks by namespace.
    covering = list(db.session.scalars(query.order_by(Registry.created_at, Registry.id)))
    results = {reference: explain(reference, covering) for reference in wanted}
    missed = [reference for reference, result in results.items() if result.registry is None]
    if missed:
        missed_hosts = {host for reference in missed for host in candidate_hosts(reference)}
        others = db.session.execute(
            select(Registry.host, Registry.namespace)
            .where(Registry.org_id == org_id, ACTIVE_REGISTRY)
            .where(Registry.host.in_(missed_hosts))
            .order_by(Registry.host, Registry.namespace)
        ).all()
        for reference in missed:
            # Only non-covering rows, so that a registry added since the first query cannot
            # turn a miss into a half-made match: the second query only words the reason.
            rows = [row for row in others if not covers(row.namespace, reference.path)]
            why = explain(reference, rows)
            results[reference] = Resolution(None, why.reason, why.host, why.is_public_host)
    return results
