import re

import pytest

from webapp.extensions import db
from webapp.models import AuditEvent


def test_login_page_has_labelled_fields(client):
    page = client.get("/login").get_data(as_text=True)
    assert re.search(r'<label[^>]*for="email"[^>]*>\s*Email', page)
    assert re.search(r'<label[^>]*for="password"[^>]*>\s*Password', page)


def test_admin_lands_on_the_container_registry_page(client, make, auth):
    slug = make.org("acme")
    email = make.user("a@acme.test", org=slug)
    response = auth.login(email)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/orgs/{slug}/settings/infrastructure/container-registry/"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "No registries connected yet" in page
    assert "Add Registry" in page


def test_wrong_password_is_refused_beside_the_field_and_audited(app, client, make, auth):
    email = make.user("a@acme.test", org=make.org("acme"))
    response = auth.login(email, "not the password")
    assert response.status_code == 422
    assert "do not match an account" in response.get_data(as_text=True)
    assert client.get("/orgs/acme/settings/private-tools/").status_code == 302
    with app.app_context():
        actions = [e.action for e in db.session.query(AuditEvent)]
    assert actions == ["user.sign_in_failed"]


def test_unknown_email_and_blank_fields_get_messages(client):
    response = client.post_form("/login", {"email": "", "password": ""})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter your email address." in body and "Enter your password." in body


def test_logout_ends_the_session_on_the_server(client, make, auth):
    email = make.user("a@acme.test", org=make.org("acme"))
    auth.login(email)
    old_cookie = client.get_cookie("session").value
    assert client.get("/orgs/acme/settings/audit-log/").status_code == 200
    response = auth.logout()
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    # Replaying the cookie from before the logout no longer gets in.
    client.set_cookie("session", old_cookie, domain="localhost")
    replay = client.get("/orgs/acme/settings/audit-log/")
    assert replay.status_code == 302 and replay.headers["Location"].startswith("/login")


def test_logout_is_post_only(client, make, auth):
    auth.login(make.user("a@acme.test", org=make.org("acme")))
    assert client.get("/logout").status_code == 405


def test_session_is_renewed_at_login(client, make, auth):
    email = make.user("a@acme.test", org=make.org("acme"))
    client.get("/login")
    before = client.get_cookie("session").value
    auth.login(email)
    assert client.get_cookie("session").value != before


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/orgs/acme/settings/audit-log/", "/orgs/acme/settings/audit-log/"),
        ("///evil.com", None),
        ("//evil.com/x", None),
        ("/\\evil.com", None),
        ("https://evil.com/", None),
        ("javascript:alert(1)", None),
        ("/%0d%0aLocation:%20x", "/%0d%0aLocation:%20x"),  # still encoded: harmless
    ],
)
def test_next_redirects_stay_on_this_site(client, make, target, expected):
    email = make.user("a@acme.test", org=make.org("acme"))
    token = client.csrf_token()
    response = client.post(
        "/login", query_string={"next": target},
        data={"email": email, "password": "correct horse battery", "csrf_token": token},
    )
    assert response.status_code == 302
    landing = "/orgs/acme/settings/infrastructure/container-registry/"
    assert response.headers["Location"] == (expected or landing)


def test_absolute_session_lifetime(client, make, auth):
    auth.login(make.user("a@acme.test", org=make.org("acme")))
    with client.session_transaction() as session:
        session["signed_in_at"] -= 13 * 3600
    assert client.get("/orgs/acme/settings/audit-log/").status_code == 302


def test_idle_timeout_is_on_the_cookie(client, make, auth):
    response = auth.login(make.user("a@acme.test", org=make.org("acme")))
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie


@pytest.fixture
def throttled_app(database_url):
    from tests.support.apps import build_app

    app = build_app(
        database_url, RATELIMIT_ENABLED=True, LOGIN_FAILURES_PER_ACCOUNT="3 per minute",
        LOGIN_FAILURES_PER_ADDRESS="5 per minute",
    )
    yield app
    from webapp.extensions import limiter
    limiter.reset()


def test_failed_logins_are_throttled_per_account(throttled_app):
    from tests.support.factories import Factory

    make = Factory(throttled_app)
    email = make.user("a@acme.test", org=make.org("acme"))
    client = throttled_app.test_client()
    token = client.csrf_token()
    statuses = [
        client.post("/login", data={"email": email, "password": "wrong", "csrf_token": token}).status_code
        for _ in range(4)
    ]
    assert statuses == [422, 422, 422, 429]
    refused = client.post("/login", data={"email": email, "password": "correct horse battery",
                                          "csrf_token": token})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    # Another account from the same address still signs in.
    other = make.user("b@acme.test", org="acme")
    ok = client.post("/login", data={"email": other, "password": "correct horse battery",
                                     "csrf_token": token})
    assert ok.status_code == 302


def test_successful_logins_do_not_count(throttled_app):
    from tests.support.factories import Factory

    make = Factory(throttled_app)
    email = make.user("a@acme.test", org=make.org("acme"))
    for _ in range(6):
        client = throttled_app.test_client()
        token = client.csrf_token()
        response = client.post("/login", data={"email": email, "password": "correct horse battery",
                                               "csrf_token": token})
        assert response.status_code == 302


def test_failed_logins_are_throttled_per_address(throttled_app):
    client = throttled_app.test_client()
    token = client.csrf_token()
    statuses = [
        client.post("/login", data={"email": f"n{i}@x.test", "password": "wrong",
                                    "csrf_token": token}).status_code
        for i in range(6)
    ]
    assert statuses == [422] * 5 + [429]


def _issued_ago(monkeypatch, seconds: int) -> None:
    """Cookies signed from now on carry a timestamp `seconds` in the past."""
    import time

    from itsdangerous.timed import TimestampSigner

    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - seconds)


def test_a_request_that_changes_nothing_sends_no_cookie_until_renewal_is_due(
    client, make, auth, monkeypatch
):
    email = make.user("a@acme.test", org=make.org("acme"))
    page = "/orgs/acme/settings/infrastructure/container-registry/"
    auth.login(email)
    client.get(page)  # the first page signs the session's CSRF token: a change
    assert "Set-Cookie" not in client.get(page).headers
    # A cookie a minute old is renewed, so the idle timeout counts from the last request.
    _issued_ago(monkeypatch, 61)
    auth.login(email)
    assert client.get(page).status_code == 200
    monkeypatch.undo()
    renewed = client.get(page)
    assert renewed.status_code == 200 and "Expires=" in renewed.headers["Set-Cookie"]
    assert "Set-Cookie" not in client.get(page).headers


def test_a_cookie_idle_for_30_minutes_no_longer_signs_in(client, make, auth, monkeypatch):
    page = "/orgs/acme/settings/infrastructure/container-registry/"
    _issued_ago(monkeypatch, 31 * 60)
    auth.login(make.user("a@acme.test", org=make.org("acme")))
    assert client.get(page).status_code == 200
    monkeypatch.undo()
    response = client.get(page)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
