"""Which connected registry pulls an image: pure resolution over candidates, with no Flask.

An image resolves to the candidate whose **host key** equals the image's and whose namespace is
the longest prefix of the image's repository path **on ``/`` boundaries**.

Host keys (what a registry row stores as ``host``, and what :func:`candidate_hosts` returns)
come from :func:`host_key`: the host in lower case, an IPv6 address in brackets, then
``:port`` only when a port is part of the registry's address. So
``registry.example.com:5000`` and ``registry.example.com`` are different registries, and so are
``host`` and ``host:443``: no default port is filled in, because Docker's credential lookup is
by that same text (``auths["host:443"]`` is not used for ``host``). Docker Hub is always
``docker.io``: the parser normalises ``index.docker.io`` and ``registry-1.docker.io`` images to
it, so Docker Hub registries serve them.

Namespaces are stored lower case without leading or trailing ``/``; ``''`` means the whole host.
A namespace covers the repository named exactly like it (``ghcr.io/acme`` serves an image
``ghcr.io/acme``): on registries that allow it that repository belongs to the same owner as
everything under it. A Docker Hub registry with namespace ``library`` serves official images
(``ubuntu`` is ``docker.io/library/ubuntu``).

These functions consider exactly the candidates they are given. Restricting them to one org's
active registries is the caller's job (the query), as is fetching only the rows whose ``host``
is in :func:`candidate_hosts` -- which is what keeps one resolution among an org's 10,000
registries to an index look-up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from . import providers
from .providers import docker_hub
from .reference import ImageReference

__all__ = [
    "PUBLIC_HOSTS",
    "RegistryCandidate",
    "Resolution",
    "candidate_hosts",
    "covers",
    "explain",
    "host_key",
    "select_registry",
]

#: Hosts serving public images that need no credentials; a UI says "public — no credentials"
#: for an image on one of these that no connected registry covers. Our providers' public hosts,
#: and well-known public registries we have no provider for.
PUBLIC_HOSTS: frozenset[str] = providers.PUBLIC_HOSTS | {
    "quay.io",
    "gcr.io",
    "registry.k8s.io",
    "mcr.microsoft.com",
}

#: How many non-covering registries a reason names before "and N more".
_NAMED_IN_REASON = 3


class RegistryCandidate(Protocol):
    """What resolution reads from a registry (an ORM row, a dataclass, ...)."""

    @property
    def host(self) -> str:
        """The registry's :func:`host_key`."""
        ...

    @property
    def namespace(self) -> str:
        """Lower-case path prefix without surrounding ``/``; ``''`` for the whole host."""
        ...


C = TypeVar("C", bound=RegistryCandidate)


@dataclass(frozen=True, slots=True)
class Resolution(Generic[C]):
    """The outcome of :func:`explain`, for a UI or an API answer."""

    #: The registry that pulls the image, or None.
    registry: C | None
    #: Plain-English why, e.g. "matched host ghcr.io and namespace acme".
    reason: str
    #: The image's host key (what was looked for).
    host: str
    #: True when the image's host serves public images without credentials.
    is_public_host: bool


def host_key(host: str, port: int | None = None) -> str:
    """The key under which a registry at ``host[:port]`` is stored and looked up.

    Use it when saving a registry too, so both sides spell hosts alike: ``("Example.COM", 5000)``
    -> ``example.com:5000``, ``("::1", 5000)`` or ``("[::1]", 5000)`` -> ``[::1]:5000``,
    ``("index.docker.io", None)`` and ``("registry-1.docker.io", None)`` -> ``docker.io``.
    """
    name = host.lower().removeprefix("[").removesuffix("]")
    if docker_hub.PROVIDER.serves(name, port):
        return docker_hub.DOMAIN
    if ":" in name:
        name = f"[{name}]"
    return name if port is None else f"{name}:{port}"


def candidate_hosts(reference: ImageReference) -> list[str]:
    """Host keys whose registries can serve ``reference``: filter the DB on exactly these.

    A list (today of one key) so that a caller writes ``host IN (...)`` and keeps working if an
    alias is ever added.
    """
    return [host_key(reference.host, reference.port)]


def covers(namespace: str, path: str) -> bool:
    """True if a registry with ``namespace`` serves the repository ``path``.

    Compared on ``/`` boundaries, so ``acme`` covers ``acme``, ``acme/tool`` and
    ``acme/sub/tool`` but never ``acme-evil/tool``.
    """
    return namespace == "" or path == namespace or path.startswith(namespace + "/")


def select_registry(reference: ImageReference, candidates: Iterable[C]) -> C | None:
    """The candidate that pulls ``reference``, or None; see :func:`explain`."""
    return explain(reference, candidates).registry


def explain(reference: ImageReference, candidates: Iterable[C]) -> Resolution[C]:
    """Resolve ``reference`` among ``candidates`` and say why.

    The longest covering namespace wins (a registry for ``ghcr.io/acme/team`` beats one for
    ``ghcr.io/acme``, which beats one for all of ``ghcr.io``). Candidates with the same host and
    namespace are duplicates: the first given wins, so pass them in a stable order.
    """
    keys = candidate_hosts(reference)
    key = keys[0]
    public = key in PUBLIC_HOSTS
    path = reference.path

    best: C | None = None
    ties = 0
    not_covering: list[str] = []
    for candidate in candidates:
        if candidate.host.lower() not in keys:
            continue
        namespace = candidate.namespace
        if not covers(namespace, path):
            not_covering.append(f"{key}/{namespace}")
        elif best is None or len(namespace) > len(best.namespace):
            best, ties = candidate, 0
        elif namespace == best.namespace:
            ties += 1

    if best is not None:
        return Resolution(best, _matched_reason(key, best.namespace, ties), key, public)
    if not not_covering:
        return Resolution(None, f"no connected registry for host {key}", key, public)
    return Resolution(None, _not_covering_reason(not_covering, path), key, public)


def _matched_reason(key: str, namespace: str, ties: int) -> str:
    reason = (
        f"matched host {key} and namespace {namespace}"
        if namespace
        else f"matched host {key} (the registry has no namespace, so it covers the whole host)"
    )
    if ties:
        reason += f"; {ties + 1} registries have this host and namespace, using the first"
    return reason


def _not_covering_reason(registries: list[str], path: str) -> str:
    named = ", ".join(registries[:_NAMED_IN_REASON])
    more = len(registries) - _NAMED_IN_REASON
    if more > 0:
        named += f" and {more} more"
    if len(registries) == 1:
        return f"registry for {named} does not cover {path}"
    return f"registries for {named} do not cover {path}"
