"""Resolution through the database (services/resolution.py), on SQLite and PostgreSQL.

The pure rules are tested in tests/unit/registry_client/test_resolve.py; here the same boundary
cases go through the query, which must return the covering registries of the right org and
state, and only those, in at most two queries per batch.
"""

from __future__ import annotations

import uuid

import pytest
from flask import current_app
from sqlalchemy import event, insert

from tests.support.queries import counting_queries
from webapp.extensions import db
from webapp.models import Registry
from webapp.registry_client.reference import parse_reference
from webapp.services import accounts, resolution


@pytest.fixture
def orgs(backend_app):
    with backend_app.app_context():
        acme = accounts.create_org("acme", "Acme", "enterprise")
        other = accounts.create_org("other", "Other", "enterprise")
        db.session.commit()
        yield acme.id, other.id


def add(org_id: int, host: str, namespace: str = "", *, kind: str = "docker_registry",
        state: str = "active", name: str | None = None) -> uuid.UUID:
    name = name or f"{host}/{namespace}/{state}"
    registry = Registry(id=uuid.uuid4(), org_id=org_id, kind=kind, name=name,
                        name_key=name.lower(), host=host, namespace=namespace, username="u",
                        state=state, status="connected")
    db.session.add(registry)
    db.session.commit()
    return registry.id


def resolved(org_id: int, image: str) -> uuid.UUID | None:
    registry = resolution.resolve(org_id, parse_reference(image)).registry
    return registry.id if registry is not None else None


def test_namespaces_match_on_path_segment_boundaries(orgs):
    acme, _ = orgs
    team = add(acme, "ghcr.io", "acme")
    for image in ("ghcr.io/acme/tool", "ghcr.io/acme/sub/tool:1", "ghcr.io/acme"):
        assert resolved(acme, image) == team
    for image in ("ghcr.io/acme-evil/tool", "ghcr.io/acmetool", "ghcr.io/ac/me"):
        assert resolved(acme, image) is None
    why = resolution.resolve(acme, parse_reference("ghcr.io/acme-evil/tool"))
    assert why.reason == "registry for ghcr.io/acme does not cover acme-evil/tool"
    assert why.is_public_host


def test_the_longest_namespace_wins(orgs):
    acme, _ = orgs
    whole = add(acme, "registry.example.com")
    team = add(acme, "registry.example.com", "acme")
    sub = add(acme, "registry.example.com", "acme/team")
    assert resolved(acme, "registry.example.com/acme/team/tool") == sub
    assert resolved(acme, "registry.example.com/acme/teams/tool") == team
    assert resolved(acme, "registry.example.com/other/tool") == whole


def test_ports_are_part_of_the_host(orgs):
    acme, _ = orgs
    on_5000 = add(acme, "registry.example.com:5000")
    on_443 = add(acme, "registry.example.com:443")
    assert resolved(acme, "registry.example.com:5000/team/app") == on_5000
    assert resolved(acme, "Registry.Example.COM:5000/team/app") == on_5000
    assert resolved(acme, "registry.example.com:443/team/app") == on_443
    assert resolved(acme, "registry.example.com/team/app") is None
    assert resolved(acme, "registry.example.com:5001/team/app") is None
    why = resolution.resolve(acme, parse_reference("registry.example.com/team/app"))
    assert why.reason == "no connected registry for host registry.example.com"
    assert not why.is_public_host


def test_ipv6_hosts_are_bracketed(orgs):
    acme, _ = orgs
    local = add(acme, "[::1]:5000", "team")
    assert resolved(acme, "[::1]:5000/team/app:1") == local
    assert resolved(acme, "[0:0:0:0:0:0:0:1]:5000/team/app") is None  # hosts compare as text
    assert resolved(acme, "[::1]:5001/team/app") is None


def test_docker_hub_normalisation_and_library(orgs):
    acme, _ = orgs
    official = add(acme, "docker.io", "library", kind="docker_hub")
    mine = add(acme, "docker.io", "acme", kind="docker_hub")
    assert resolved(acme, "ubuntu") == official
    assert resolved(acme, "docker.io/ubuntu:22.04") == official
    assert resolved(acme, "index.docker.io/library/ubuntu") == official
    assert resolved(acme, "acme/tool") == mine
    assert resolved(acme, "Docker.IO/acme/tool") == mine
    assert resolved(acme, "registry-1.docker.io/acme/tool") == mine  # Docker Hub's API host
    assert resolved(acme, "registry-1.docker.io/ubuntu") == official
    assert resolved(acme, "acmecorp/tool") is None


def test_another_org_and_inactive_registries_never_match(orgs):
    acme, other = orgs
    add(other, "ghcr.io", "acme")
    add(acme, "ghcr.io", "acme", state="draft", name="draft")
    add(acme, "ghcr.io", "acme", state="removed", name="gone")
    assert resolved(acme, "ghcr.io/acme/tool") is None
    why = resolution.resolve(acme, parse_reference("ghcr.io/acme/tool"))
    assert why.reason == "no connected registry for host ghcr.io"


def test_a_batch_costs_at_most_two_queries(orgs):
    acme, _ = orgs
    add(acme, "ghcr.io", "acme")
    add(acme, "registry.example.com:5000", "team")
    images = [f"ghcr.io/acme/tool-{n}" for n in range(30)]
    images += [f"registry.example.com:5000/other/tool-{n}" for n in range(30)]
    references = [parse_reference(image) for image in images]
    with counting_queries(current_app) as statements:
        results = resolution.resolve_many(acme, references)
    assert len(statements) == 2
    assert all(results[ref].registry is not None for ref in references[:30])
    misses = {ref.path: results[ref].reason for ref in references[30:]}
    assert misses == {
        f"other/tool-{n}": f"registry for registry.example.com:5000/team does not cover "
        f"other/tool-{n}"
        for n in range(30)
    }


def test_a_hit_loads_only_the_covering_registries(orgs):
    """Thousands of registries on the image's host: only the covering ones become objects."""
    acme, _ = orgs
    db.session.execute(insert(Registry), [
        {"id": uuid.uuid4(), "org_id": acme, "kind": "github", "name": f"ns {n}",
         "name_key": f"ns {n}", "host": "ghcr.io", "namespace": f"team-{n}", "username": "u",
         "state": "active", "status": "connected"}
        for n in range(2000)
    ])
    db.session.commit()
    wanted = add(acme, "ghcr.io", "team-7/tools")
    loaded: list[str] = []

    def note(target, context):
        loaded.append(target.namespace)

    db.session.expunge_all()
    event.listen(Registry, "load", note)
    try:
        result = resolution.resolve(acme, parse_reference("ghcr.io/team-7/tools/scanner"))
    finally:
        event.remove(Registry, "load", note)
    assert result.registry is not None and result.registry.id == wanted
    assert sorted(loaded) == ["team-7", "team-7/tools"]
