"""Private tools: add, rename, remove, and which registry each pulls through.

A tool names an image. Which registry pulls it is never stored: it is resolved whenever it is
shown (`routes`), so adding, replacing or removing a registry changes every tool's row at once.
What is stored is the outcome of the last pull check (`pull_checks`), shown only while the tool
still resolves to a registry.

Only registries of Enterprise orgs are considered; another plan's tools resolve as if the org
had no registry, as the runner API would treat them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from .. import paging
from ..extensions import db
from ..models import Organization, PrivateTool, Registry
from ..registry_client.reference import ImageReference, InvalidReference, parse_reference
from ..registry_client.resolve import Resolution, explain
from . import audit, resolution

__all__ = [
    "NO_REGISTRY",
    "ToolConflict",
    "ToolRoute",
    "add",
    "all_tools",
    "get",
    "remove",
    "rename",
    "route",
    "routes",
    "tools_using",
]

#: The stored pull outcome of a tool whose image no registry serves (on a private host).
NO_REGISTRY = "no_registry"


class ToolConflict(ValueError):
    """Another tool of the org has this name (names compare case-insensitively)."""


@dataclass(frozen=True)
class ToolRoute:
    """How a tool's image is pulled: through `registry`, anonymously from a public host, not at
    all (no registry, private host), or never (the stored image does not parse)."""

    tool: PrivateTool
    reference: ImageReference | None
    resolution: Resolution[Registry] | None

    @property
    def registry(self) -> Registry | None:
        return self.resolution.registry if self.resolution else None

    @property
    def kind(self) -> str:
        """One of `registry`, `public`, `none` and `invalid`, as described above."""
        if self.resolution is None:
            return "invalid"
        if self.resolution.registry is not None:
            return "registry"
        return "public" if self.resolution.is_public_host else "none"


def all_tools(org: Organization) -> list[PrivateTool]:
    query = (
        select(PrivateTool)
        .where(PrivateTool.org_id == org.id)
        .order_by(func.lower(PrivateTool.name), PrivateTool.id)
    )
    return list(db.session.scalars(query))


def listing(org: Organization, query: str, number: int) -> paging.Page:
    """One page of the org's tools by name, those whose name or image contain `query`
    (case-insensitive), in one statement (the total rides along as a window count)."""
    conditions = [PrivateTool.org_id == org.id]
    if query:
        text = query.lower()
        conditions.append(
            or_(
                PrivateTool.name_key.contains(text, autoescape=True),
                func.lower(PrivateTool.image).contains(text, autoescape=True),
            )
        )
    statement = (
        select(PrivateTool, func.count().over().label("total"))
        .where(*conditions)
        .order_by(func.lower(PrivateTool.name), PrivateTool.id)
        .limit(paging.PAGE_SIZE)
        .offset(paging.offset(number))
    )
    rows = list(db.session.execute(statement))
    if rows:
        total = rows[0].total
    elif number == 1:
        total = 0
    else:
        count = select(func.count()).select_from(PrivateTool).where(*conditions)
        total = db.session.scalar(count)
    return paging.Page([row[0] for row in rows], total or 0, number, query)


def get(org: Organization, tool_id: int) -> PrivateTool | None:
    tool = db.session.get(PrivateTool, tool_id)
    return tool if tool is not None and tool.org_id == org.id else None


def add(org: Organization, name: str, image: str) -> PrivateTool:
    """A new tool; `image` must parse (the form checks it). Raises ToolConflict."""
    _ensure_free(org, name, None)
    tool = PrivateTool(org_id=org.id, image=image)
    _save(tool, name)
    audit.record(
        "tool.added", org=org, target=("tool", str(tool.id), name), details={"image": image}
    )
    return tool


def rename(org: Organization, tool: PrivateTool, name: str) -> None:
    if name == tool.name:
        return
    _ensure_free(org, name, tool.id)
    old = tool.name
    _save(tool, name)
    audit.record(
        "tool.renamed", org=org, target=("tool", str(tool.id), name), details={"from": old}
    )


def remove(org: Organization, tool: PrivateTool) -> None:
    audit.record(
        "tool.removed",
        org=org,
        target=("tool", str(tool.id), tool.name),
        details={"image": tool.image},
    )
    db.session.delete(tool)


def routes(org: Organization, tools: list[PrivateTool]) -> list[ToolRoute]:
    """Each tool with the registry its image pulls through: at most two queries in all."""
    references: dict[int, ImageReference] = {}
    for tool in tools:
        try:
            references[tool.id] = parse_reference(tool.image)
        except InvalidReference:
            continue
    if org.is_enterprise:
        found = resolution.resolve_many(org.id, references.values())
    else:
        found = {reference: explain(reference, []) for reference in references.values()}
    result = []
    for tool in tools:
        reference = references.get(tool.id)
        result.append(ToolRoute(tool, reference, found[reference] if reference else None))
    return result


def route(org: Organization, tool: PrivateTool) -> ToolRoute:
    return routes(org, [tool])[0]


def tools_using(org: Organization, registry: Registry) -> list[PrivateTool]:
    """The org's tools whose images `registry` pulls now: those that stop pulling without it."""
    return [
        each.tool
        for each in routes(org, all_tools(org))
        if each.registry is not None and each.registry.id == registry.id
    ]


def _ensure_free(org: Organization, name: str, exclude: int | None) -> None:
    query = select(PrivateTool.id).where(
        PrivateTool.org_id == org.id, PrivateTool.name_key == name.lower()
    )
    if exclude is not None:
        query = query.where(PrivateTool.id != exclude)
    if db.session.scalar(query) is not None:
        raise ToolConflict("Another private tool already has this name.")


def _save(tool: PrivateTool, name: str) -> None:
    """Name the tool and flush in a savepoint: a lost race for the name (the unique index
    decides) becomes ToolConflict and leaves the rest of the transaction alone."""
    try:
        with db.session.begin_nested():
            tool.name, tool.name_key = name, name.lower()
            db.session.add(tool)
    except IntegrityError:
        raise ToolConflict("Another private tool already has this name.") from None
