"""Secret fingerprints: a keyed HMAC over org, registry and secret, shown to the org's admins only.

The same secret in two registries, or two orgs, must not show the same fingerprint (that would
tell anyone who sees both that they share a credential); members and support staff see when the
secret was replaced, never the fingerprint.
"""

import re

import pytest

from tests.routes import SAMPLE_VALUES, all_routes
from tests.support.apps import TEST_KEYS, build_app, make_app, make_config, signed_in
from tests.support.factories import Factory, registry_row
from webapp.extensions import db
from webapp.models import Registry
from webapp.services import credentials
from webapp.services.vault import fingerprint_owner, new_key_line

BASE = "/orgs/acme/settings/infrastructure/container-registry"
SECRET = "the-same-secret-everywhere"


@pytest.fixture
def env(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'fingerprints.db'}")
    make = Factory(app)
    make.org("acme")
    make.org("other")
    make.user("admin@acme.test", org="acme", role="admin")
    make.user("member@acme.test", org="acme", role="member")
    make.user("help@platform.test", support=True)
    with app.app_context():
        registry = registry_row("acme", secret=SECRET, name="Build cache", status="connected")
        registry_id, fingerprint = registry.id, registry.secret_fingerprint
    yield app, registry_id, fingerprint
    with app.app_context():
        db.engine.dispose()


def fingerprints(app, *registry_ids):
    with app.app_context():
        return [db.session.get(Registry, rid).secret_fingerprint for rid in registry_ids]


def test_the_same_secret_has_a_different_fingerprint_in_every_registry_and_org(env):
    app, first_id, first = env
    with app.app_context():
        same_org = registry_row("acme", secret=SECRET).id
        other_org = registry_row("other", secret=SECRET).id
    _, in_same_org, in_other_org = fingerprints(app, first_id, same_org, other_org)
    assert re.fullmatch(r"[0-9a-f]{8}", first)
    assert len({first, in_same_org, in_other_org}) == 3


def test_a_fingerprint_tells_one_registrys_secrets_apart_and_is_stable(env):
    app, registry_id, fingerprint = env
    with app.app_context():
        registry = db.session.get(Registry, registry_id)
        credentials.store_secret(registry, SECRET)  # the same secret again: the same fingerprint
        db.session.commit()
        assert registry.secret_fingerprint == fingerprint
        credentials.store_secret(registry, SECRET + "-new")
        db.session.commit()
        assert registry.secret_fingerprint != fingerprint


def test_the_fingerprint_key_comes_from_the_credential_key_not_secret_key(env, tmp_path):
    app, registry_id, fingerprint = env
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    # Another SECRET_KEY, the same credential key: the same fingerprint.
    other_secret_key = make_app(make_config(url, SECRET_KEY="another-secret-key"))
    # Another credential key (same id), the same SECRET_KEY: another fingerprint.
    other_credential_key = make_app(make_config(url, CREDENTIAL_KEYS=new_key_line("t1")))
    for other, same in ((other_secret_key, True), (other_credential_key, False)):
        with other.app_context():
            registry = db.session.get(Registry, registry_id)
            box = credentials.vault()
            value = box.fingerprint("t1", fingerprint_owner(registry.org_id, registry.id), SECRET)
            assert (value == fingerprint) is same
            db.engine.dispose()


def test_admins_see_the_fingerprint_on_the_detail_page_and_the_credentials_form(env):
    app, registry_id, fingerprint = env
    admin = signed_in(app, "admin@acme.test")
    detail = admin.get(f"{BASE}/{registry_id}").get_data(as_text=True)
    assert f"fingerprint <code>{fingerprint}</code>" in detail and "Replaced <time" in detail
    form = admin.get(f"{BASE}/{registry_id}/credentials").get_data(as_text=True)
    assert f"(fingerprint {fingerprint})" in form


def test_members_and_support_see_when_it_was_replaced_never_the_fingerprint(env, hx):
    app, registry_id, fingerprint = env
    member = signed_in(app, "member@acme.test")
    detail = member.get(f"{BASE}/{registry_id}").get_data(as_text=True)
    assert "Replaced <time" in detail and "fingerprint" not in detail.lower()
    support = signed_in(app, "help@platform.test")
    page = support.get(f"/support/registries/{registry_id}").get_data(as_text=True)
    assert "Replaced <time" in page and "fingerprint" not in page.lower()

    # Every page either of them can open, as a page and as a fragment.
    seen = 0
    for _method, path, _endpoint in all_routes(methods={"GET"}):
        if path.startswith(("/api/", "/static/")):
            continue  # bearer tokens only; files
        path = path.replace(SAMPLE_VALUES["registry_id"], str(registry_id))
        for client in (member, support):
            for headers in ({}, hx):
                response = client.get(path, headers=headers)
                seen += response.status_code == 200
                assert fingerprint not in response.get_data(as_text=True) + str(response.headers)
    assert seen > 10  # the crawl reached real pages, not only 403s and 404s


def test_a_blank_fingerprint_after_the_migration_reads_as_not_computed_yet(env):
    app, registry_id, _ = env
    with app.app_context():
        db.session.get(Registry, registry_id).secret_fingerprint = None
        db.session.commit()
    admin = signed_in(app, "admin@acme.test")
    detail = admin.get(f"{BASE}/{registry_id}").get_data(as_text=True)
    assert "fingerprint not computed yet" in detail and "None stored" not in detail
    form = admin.get(f"{BASE}/{registry_id}/credentials").get_data(as_text=True)
    assert "Leave it empty to keep the stored one, unless" in form


def test_rotation_gives_blank_fingerprints_their_value(env):
    app, registry_id, fingerprint = env
    with app.app_context():
        db.session.get(Registry, registry_id).secret_fingerprint = None
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert fingerprints(app, registry_id) == [fingerprint]  # same key, same owner, same secret
    # Under a new key the fingerprint is recomputed with it, in the same write as the ciphertext.
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    rotated = make_app(make_config(url, CREDENTIAL_KEYS=f"{new_key_line('t2')},{TEST_KEYS}"))
    assert rotated.test_cli_runner().invoke(args=["keys", "rotate"]).exit_code == 0
    with rotated.app_context():
        registry = db.session.get(Registry, registry_id)
        assert registry.secret_key_id == "t2" and registry.secret_fingerprint != fingerprint
        box = credentials.vault()
        owner = fingerprint_owner(registry.org_id, registry.id)
        assert registry.secret_fingerprint == box.fingerprint("t2", owner, SECRET)
        db.engine.dispose()
