"""The vault on its own (services/vault.py): AES-GCM bound to its associated data, the key ring,
fingerprints, and the development key file. No app, no database."""

from __future__ import annotations

import base64
import os
import stat

import pytest

from webapp.services.vault import (
    NONCE_BYTES,
    CredentialsUnreadable,
    KeyConfigError,
    KeyRing,
    Sealed,
    Vault,
    associated_data,
    development_keys,
    fingerprint_owner,
    new_key_line,
)

SECRET = "s3cret-CANARY-0b1f"
AAD = associated_data(1, "2c7d…", "registry.example.com:443")


def vault(*lines: str) -> Vault:
    return Vault(KeyRing.parse(",".join(lines)))


def test_a_sealed_secret_opens_with_its_associated_data_only():
    box = vault(new_key_line("k1"))
    sealed = box.seal(SECRET, AAD)
    assert SECRET.encode() not in sealed.blob and sealed.key_id == "k1"
    assert box.open(sealed, AAD) == SECRET
    for other in (
        associated_data(2, "2c7d…", "registry.example.com:443"),  # another org
        associated_data(1, "another-id", "registry.example.com:443"),  # another row
        associated_data(1, "2c7d…", "registry.example.com:5000"),  # another address
    ):
        with pytest.raises(CredentialsUnreadable):
            box.open(sealed, other)


def test_every_seal_has_its_own_nonce():
    box = vault(new_key_line("k1"))
    first, second = box.seal(SECRET, AAD), box.seal(SECRET, AAD)
    assert first.blob[:NONCE_BYTES] != second.blob[:NONCE_BYTES]
    assert first.blob != second.blob


@pytest.mark.parametrize(
    "damage",
    [
        lambda sealed: Sealed("k9", sealed.blob),  # a key the ring does not hold
        lambda sealed: Sealed(sealed.key_id, sealed.blob[:NONCE_BYTES]),  # nothing after nonce
        lambda sealed: Sealed(sealed.key_id, sealed.blob[:-1] + bytes([sealed.blob[-1] ^ 1])),
    ],
    ids=["unknown key", "truncated", "tampered"],
)
def test_what_cannot_be_opened_is_unreadable_and_says_nothing_more(damage):
    box = vault(new_key_line("k1"))
    with pytest.raises(CredentialsUnreadable) as raised:
        box.open(damage(box.seal(SECRET, AAD)), AAD)
    assert str(raised.value) == "credentials unreadable — re-enter them"


def test_the_newest_key_seals_and_older_ones_still_open():
    old_line, new_line = new_key_line("k1"), new_key_line("k2")
    sealed_before = vault(old_line).seal(SECRET, AAD)
    ring = KeyRing.parse(f"{new_line}, {old_line}")
    assert ring.primary_id == "k2" and "k1" in ring and "k3" not in ring
    box = Vault(ring)
    assert box.seal(SECRET, AAD).key_id == "k2"
    assert box.open(sealed_before, AAD) == SECRET
    with pytest.raises(CredentialsUnreadable):
        vault(new_line).open(sealed_before, AAD)  # the old key dropped too early


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "holds no key"),
        (" , ", "holds no key"),
        ("no-separator", "entry 1 must look like <id>:<base64 key>"),
        ("bad id!:" + "A" * 43, "entry 1 must look like"),
        ("k1:A", "not valid urlsafe base64"),  # one character is never base64
        ("k1:" + base64.urlsafe_b64encode(os.urandom(16)).decode(), "must decode to 32 bytes"),
    ],
)
def test_a_malformed_ring_names_the_entry_never_the_key(text, message):
    with pytest.raises(KeyConfigError, match=message) as raised:
        KeyRing.parse(text)
    key_part = text.partition(":")[2]
    if len(key_part) > 8:
        assert key_part not in str(raised.value)


def test_a_key_id_twice_is_refused():
    with pytest.raises(KeyConfigError, match="same key id twice"):
        KeyRing.parse(f"{new_key_line('k1')},{new_key_line('k1')}")


def test_fingerprints_tell_one_registrys_secrets_apart_and_correlate_nothing_else():
    line = new_key_line("k1")
    box = vault(line)
    owner = fingerprint_owner(1, "2c7d…")
    mark = box.fingerprint("k1", owner, SECRET)
    assert len(mark) == 8 and int(mark, 16) >= 0
    assert box.fingerprint("k1", owner, SECRET) == mark  # stable
    assert box.fingerprint("k1", owner, SECRET + "!") != mark  # another secret
    assert box.fingerprint("k1", fingerprint_owner(2, "2c7d…"), SECRET) != mark  # another org
    other_key = vault(new_key_line("k1"))
    assert other_key.fingerprint("k1", owner, SECRET) != mark  # keyed by the credential key
    with pytest.raises(CredentialsUnreadable):
        box.fingerprint("k9", owner, SECRET)


def test_development_keys_are_generated_once_into_a_private_file(tmp_path):
    folder = tmp_path / "instance"
    first = development_keys(str(folder))
    path = folder / "credential_keys"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert development_keys(str(folder)) == first
    assert KeyRing.parse(first).primary_id == "dev1"
