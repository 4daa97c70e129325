"""Secrets at rest: AEAD bound to the row, key ring, rotation, failing closed."""

import base64
import uuid

import pytest
from sqlalchemy import text

from tests.support.apps import TEST_KEYS, Client, build_app, make_app, make_config
from tests.support.factories import registry_row
from webapp import create_app
from webapp.extensions import db
from webapp.models import Registry
from webapp.services import accounts, credentials
from webapp.services.vault import CredentialsUnreadable, KeyRing, Vault, new_key_line

CANARY = "CANARY-" + uuid.uuid4().hex


def add_registry(org, host=None, secret=CANARY, name=None):
    return registry_row(org.id, secret=secret, host=host, name=name, status="connected",
                        commit=False)


@pytest.fixture
def orgs(app):
    with app.app_context():
        accounts.create_org("acme", "Acme", "enterprise")
        accounts.create_org("other", "Other", "enterprise")
        db.session.commit()


def test_secret_is_stored_only_as_ciphertext(app, orgs, database_url):
    with app.app_context():
        registry = add_registry(accounts.find_org("acme"))
        db.session.commit()
        row = db.session.execute(text("SELECT * FROM registries")).one()
        assert CANARY not in repr(row)
        assert registry.secret_key_id == "t1" and len(registry.secret_fingerprint) == 8
        assert credentials.read_secret(registry) == CANARY
        db.engine.dispose()
    with open(database_url.removeprefix("sqlite:///"), "rb") as handle:
        raw = handle.read()
    assert CANARY.encode() not in raw


def test_same_secret_encrypts_differently_each_time(app, orgs):
    with app.app_context():
        org = accounts.find_org("acme")
        first, second = add_registry(org), add_registry(org)
        assert first.secret_ciphertext != second.secret_ciphertext
        # Nor do the fingerprints tell that two registries share a secret (test_fingerprints.py).
        assert first.secret_fingerprint != second.secret_fingerprint


@pytest.mark.parametrize("into", ["same org", "other org", "changed host"])
def test_ciphertext_copied_elsewhere_fails_to_decrypt(app, orgs, into):
    with app.app_context():
        acme, other = accounts.find_org("acme"), accounts.find_org("other")
        source = add_registry(acme)
        target = {
            "same org": lambda: add_registry(acme, secret="other-secret"),
            "other org": lambda: add_registry(other, secret="other-secret"),
            "changed host": lambda: source,
        }[into]()
        if into == "changed host":
            target.host = "evil.example.com"
        else:
            target.secret_ciphertext = source.secret_ciphertext
            target.secret_key_id = source.secret_key_id
        with pytest.raises(CredentialsUnreadable) as raised:
            credentials.read_secret(target)
        assert CANARY not in str(raised.value)


def test_rotation_over_a_thousand_secrets(database_url):
    new_line = new_key_line("t2")
    old = make_app(make_config(database_url))
    with old.app_context():
        db.create_all()
        org = accounts.create_org("acme", "Acme", "enterprise")
        db.session.flush()
        ids = [add_registry(org, secret=f"secret-{n}").id for n in range(1000)]
        db.session.commit()
        db.engine.dispose()
    both = make_app(make_config(database_url, CREDENTIAL_KEYS=f"{new_line},{TEST_KEYS}"))
    runner = both.test_cli_runner()
    result = runner.invoke(args=["keys", "rotate", "--batch-size", "300"])
    assert result.exit_code == 0 and "Re-encrypted 1000 secret(s)" in result.output
    again = runner.invoke(args=["keys", "rotate"])
    assert "Re-encrypted 0 secret(s)" in again.output
    with both.app_context():
        db.engine.dispose()
    # The old key is gone: everything still decrypts, all under the new key.
    new_only = make_app(make_config(database_url, CREDENTIAL_KEYS=new_line))
    with new_only.app_context():
        rows = {r.id: r for r in db.session.query(Registry)}
        assert {r.secret_key_id for r in rows.values()} == {"t2"}
        assert all(rows[i].version == 1 for i in ids)  # rotation does not make edits stale
        assert credentials.read_secret(rows[ids[0]]) == "secret-0"
        assert credentials.read_secret(rows[ids[-1]]) == "secret-999"
        db.engine.dispose()


def test_wrong_key_gives_unreadable_and_the_app_keeps_working(database_url):
    app = make_app(make_config(database_url))
    with app.app_context():
        db.create_all()
        org = accounts.create_org("acme", "Acme", "enterprise")
        accounts.create_user("admin@acme.test", "correct horse battery", org=org, role="admin")
        db.session.flush()
        add_registry(org)
        db.session.commit()
        db.engine.dispose()
    wrong = make_app(make_config(database_url, CREDENTIAL_KEYS=new_key_line("t1")))
    wrong.test_client_class = Client
    with wrong.app_context(), pytest.raises(CredentialsUnreadable, match="re-enter them"):
        credentials.read_secret(db.session.query(Registry).one())
    client = wrong.test_client()
    client.post_form("/login", {"email": "admin@acme.test", "password": "correct horse battery"})
    for path in ["/orgs/acme/settings/infrastructure/container-registry/",
                 "/orgs/acme/settings/audit-log/"]:
        assert client.get(path).status_code == 200
    with wrong.app_context():
        db.engine.dispose()


@pytest.mark.parametrize(
    "value, message",
    [
        ("", "holds no key"),
        ("k1", "must look like <id>:<base64 key>"),
        ("k1:not base64!!", "not valid urlsafe base64"),
        ("k1:" + base64.urlsafe_b64encode(b"short").decode(), "must decode to 32 bytes"),
        (f"{new_key_line('k1')},{new_key_line('k1')}", "same key id twice"),
    ],
)
def test_malformed_keys_are_refused_at_start_without_echoing_them(value, message):
    from config import ConfigError

    with pytest.raises(ConfigError, match=message) as raised:
        make_app(make_config("sqlite://", CREDENTIAL_KEYS=value or " , "))
    secret_part = value.partition(":")[2]
    if len(secret_part) > 8:
        assert secret_part not in str(raised.value)


def test_production_refuses_to_start_without_keys(monkeypatch, tmp_path):
    from config import ConfigError

    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.delenv("CREDENTIAL_KEYS", raising=False)
    with pytest.raises(ConfigError, match="CREDENTIAL_KEYS must be set"):
        create_app(instance_path=tmp_path)


def test_rotate_lists_unreadable_secrets_and_exits_non_zero(database_url):
    old = build_app(database_url)
    with old.app_context():
        org = accounts.create_org("acme", "Acme", "enterprise")
        db.session.flush()
        fine = add_registry(org, name="Fine")
        lost = add_registry(org, name="Lost")
        lost.secret_key_id = "dropped"  # a key no longer in CREDENTIAL_KEYS
        db.session.commit()
        fine_id, lost_id = fine.id, lost.id
        db.engine.dispose()
    both = make_app(make_config(database_url, CREDENTIAL_KEYS=f"{new_key_line('t2')},{TEST_KEYS}"))
    result = both.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 1
    assert "Re-encrypted 1 secret(s)" in result.output
    assert "1 secret(s) could not be decrypted with any configured key" in result.output
    assert f"acme: Lost ({lost_id})" in result.output and str(fine_id) not in result.output
    assert "Keep the older keys in CREDENTIAL_KEYS until this reports none." in result.output
    assert "can be dropped" not in result.output and CANARY not in result.output
    with both.app_context():
        db.engine.dispose()


def test_rotate_reports_secrets_an_old_key_process_wrote_meanwhile(database_url, monkeypatch):
    """A web process still on the old primary key replaces a secret while the rotation runs:
    the rotation says so and exits non-zero, so "then drop the old key" waits."""
    both = build_app(database_url, CREDENTIAL_KEYS=f"{new_key_line('t2')},{TEST_KEYS}")
    with both.app_context():
        org = accounts.create_org("acme", "Acme", "enterprise")
        db.session.flush()
        registry_id = add_registry(org).id
        db.session.commit()
    count_left = credentials._still_on_older_keys

    def old_process_writes_first(box, unreadable):
        # What a process on the old ring does in that moment: seal with t1 (its primary).
        monkeypatch.setitem(both.extensions, "vault", Vault(KeyRing.parse(TEST_KEYS)))
        credentials.store_secret(db.session.get(Registry, registry_id), "written-on-t1")
        db.session.flush()
        monkeypatch.setitem(both.extensions, "vault", box)
        return count_left(box, unreadable)

    monkeypatch.setattr(credentials, "_still_on_older_keys", old_process_writes_first)
    result = both.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 1
    assert "1 secret(s) are still on older keys (t1: 1)" in result.output
    assert "run `flask keys rotate` again" in result.output
    monkeypatch.setattr(credentials, "_still_on_older_keys", count_left)
    again = both.test_cli_runner().invoke(args=["keys", "rotate"])
    assert again.exit_code == 0 and "No secret needs an older key" in again.output
    with both.app_context():
        assert credentials.read_secret(db.session.get(Registry, registry_id)) == "written-on-t1"
        db.engine.dispose()
