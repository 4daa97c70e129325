"""The Container Registry page's "Which registry will pull this image?": the htmx answer, the
page without JavaScript, and what it says when no registry matches."""

from __future__ import annotations

import uuid

import pytest

from webapp.extensions import db
from webapp.models import Registry
from webapp.services import accounts

WHICH = "/orgs/acme/settings/infrastructure/container-registry/which"


@pytest.fixture
def acme(app, make, auth):
    make.org("acme", plan="enterprise")
    make.org("other", plan="enterprise")
    auth.login(make.user("member@acme.test", org="acme", role="member"))
    with app.app_context():
        for slug, name, namespace in [("acme", "Acme packages", "acme"),
                                      ("acme", "Acme team", "acme/team"),
                                      ("other", "Theirs", "")]:
            org = accounts.find_org(slug)
            db.session.add(Registry(id=uuid.uuid4(), org_id=org.id, kind="github", name=name,
                                    name_key=name.lower(), host="ghcr.io", namespace=namespace,
                                    username="octocat", state="active", status="connected"))
        db.session.commit()


def ask(client, image: str, headers: dict[str, str]) -> str:
    response = client.get(WHICH, query_string={"image": image}, headers=headers)
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    return response.get_data(as_text=True)


def test_names_the_registry_and_why(client, acme, hx):
    answer = ask(client, "ghcr.io/acme/team/tool:1", hx)
    assert "<html" not in answer and "<form" not in answer
    assert ">Acme team</bdi></a>" in answer and "Connected" in answer
    assert "ghcr.io/acme/team/tool:1" in answer
    assert "Matched host ghcr.io and namespace acme/team." in answer


@pytest.mark.parametrize("image, expected", [
    ("ghcr.io/acme-evil/tool",
     "Registries for ghcr.io/acme, ghcr.io/acme/team do not cover acme-evil/tool; ghcr.io is a "
     "public registry"),
    ("registry.example.com/acme/tool",
     "No connected registry for host registry.example.com; connect a registry for "
     "registry.example.com to pull it."),
])
def test_says_why_none(client, acme, image, expected, hx):
    answer = ask(client, image, hx)
    assert expected in answer
    assert "Theirs" not in answer  # another org's registry never matches


def test_a_public_host_is_public_and_a_private_one_fails(client, acme, hx):
    assert "Public — no credentials" in ask(client, "ubuntu", hx)
    assert "No registry — pulls will fail" in ask(client, "registry.example.com/x", hx)


def test_explains_a_malformed_reference(client, acme, hx):
    answer = ask(client, "Acme/Tool", hx)
    assert "That is not an image reference: repository name must be lowercase" in answer


def test_an_empty_field_asks_for_an_image(client, acme, hx):
    assert "Type an image reference" in ask(client, "", hx)


def test_without_javascript_it_is_a_page_with_the_form(client, acme):
    page = ask(client, "ghcr.io/acme/tool", {})
    assert "<html" in page and 'method="get"' in page
    assert 'value="ghcr.io/acme/tool"' in page and ">Acme packages</bdi></a>" in page
    assert 'hx-trigger="input changed delay:400ms, submit"' in page
