"""Org-scoped routes: members only; another org, a stranger and support staff all get 404.

The routes are read from the URL map, so a new org-scoped route cannot escape these tests.
"""

import pytest

from tests.routes import all_routes

ORG_ROUTES = all_routes("/orgs/")
ROUTES = [pytest.param(method, path, id=f"{method} {endpoint}")
          for method, path, endpoint in ORG_ROUTES]
assert ROUTES, "no org-scoped routes found"

#: The views only an org's admins may use; every other org view is for every member.
ADMIN_ONLY = {
    "audit.index",
    "registries.check",
    "registries.connect",
    "registries.connect_status",
    "registries.credentials",
    "registries.cancel_connect",
    "registries.discard",
    "registries.dismiss_alerts",
    "registries.new",
    "registries.new_settings",
    "registries.remove",
    "registries.rename",
    "registries.save_anyway",
    "runner_tokens.create",
    "runner_tokens.revoke",
    "runner_tokens.revoke_confirm",
}


@pytest.fixture
def two_orgs(make):
    make.org("acme")
    make.user("admin@acme.test", org="acme", role="admin")
    make.org("other")
    make.user("admin@other.test", org="other", role="admin")
    make.user("nobody@example.test")
    make.user("support@platform.test", support=True)


@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("who", ["admin@other.test", "nobody@example.test", "support@platform.test"])
def test_outsiders_get_404(client, auth, two_orgs, who, method, path):
    auth.login(who)
    token = client.csrf_token("/login")
    response = client.open(path, method=method, data={"csrf_token": token})
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/orgs/nope/settings/audit-log/", "/orgs/ACME/settings/audit-log/"])
def test_unknown_org_is_404(client, auth, two_orgs, path):
    auth.login("admin@acme.test")
    assert client.get(path).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, two_orgs):
    response = client.get("/orgs/acme/settings/audit-log/")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


@pytest.mark.parametrize(
    "method, path, endpoint",
    [pytest.param(*route, id=f"{route[0]} {route[2]}") for route in ORG_ROUTES],
)
def test_members_get_403_from_admin_views_only(client, auth, make, two_orgs, method, path,
                                               endpoint):
    """The admin guard runs before every view it marks, whatever the view would do with the
    request (here: ids that do not exist), and no other view refuses a member."""
    make.user("member@acme.test", org="acme", role="member")
    auth.login("member@acme.test")
    token = client.csrf_token("/login")
    response = client.open(path, method=method, data={"csrf_token": token})
    assert (response.status_code == 403) == (endpoint in ADMIN_ONLY), response.status_code


def test_every_admin_view_named_is_a_route():
    assert ADMIN_ONLY - {endpoint for _, _, endpoint in ORG_ROUTES} == set()


def test_member_sees_the_list_without_add(client, auth, make, two_orgs):
    make.user("member@acme.test", org="acme", role="member")
    auth.login("member@acme.test")
    page = client.get("/orgs/acme/settings/infrastructure/container-registry/").get_data(as_text=True)
    assert "Container Registry" in page and "Add Registry" not in page


def test_support_lands_on_the_console_and_others_do_not_reach_it(client, auth, two_orgs):
    response = auth.login("support@platform.test")
    assert response.headers["Location"] == "/support/"
    assert "Support console" in client.get("/support/").get_data(as_text=True)
    auth.logout()
    auth.login("admin@acme.test")
    assert client.get("/support/").status_code == 404


def test_org_switcher_lists_only_my_orgs(client, auth, make, two_orgs):
    from tests.support.factories import org_row, user_row
    from webapp.extensions import db
    from webapp.models import Membership

    with client.application.app_context():
        db.session.add(Membership(user=user_row("admin@acme.test"), org=org_row("other"), role="member"))
        db.session.commit()
    make.org("third")
    auth.login("admin@acme.test")
    page = client.get("/orgs/other/settings/audit-log/").get_data(as_text=True)
    assert "/orgs/acme/settings/infrastructure/container-registry/" in page
    assert "/orgs/third/" not in page
