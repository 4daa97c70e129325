"""The credential vault: AES-256-GCM with associated data that binds a secret to its row.

The associated data is `regcred:v1|<org id>|<registry id>|<host:port>` (a minted token's
starts `mintedtoken:v1`), so a ciphertext copied
into another row, another org, or a row whose address changed fails to decrypt instead of
handing the secret to the wrong registry. Keys come from a ring (newest first, each ciphertext
stored with its key id) so they can rotate. Nothing here ever puts a key or a secret into a
message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
DEV_KEY_FILE = "credential_keys"


class VaultError(Exception):
    """Base of the vault's errors; messages name variables, never values."""


class KeyConfigError(VaultError):
    pass


class CredentialsUnreadable(VaultError):
    """The secret cannot be decrypted with the current keys: it has to be entered again."""

    def __init__(self) -> None:
        super().__init__("credentials unreadable — re-enter them")


@dataclass(frozen=True)
class Sealed:
    key_id: str
    blob: bytes  # nonce followed by ciphertext and tag


class KeyRing:
    """Keys newest first; the first one encrypts, any of them decrypts what it wrote."""

    def __init__(self, keys: list[tuple[str, bytes]]):
        if not keys:
            raise KeyConfigError("CREDENTIAL_KEYS holds no key")
        ids = [key_id for key_id, _ in keys]
        if len(set(ids)) != len(ids):
            raise KeyConfigError("CREDENTIAL_KEYS names the same key id twice")
        self._keys = dict(keys)
        self.primary_id = ids[0]

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        keys: list[tuple[str, bytes]] = []
        for position, item in enumerate(filter(None, (p.strip() for p in text.split(","))), 1):
            key_id, sep, encoded = item.partition(":")
            if not sep or not KEY_ID_PATTERN.match(key_id):
                raise KeyConfigError(
                    f"CREDENTIAL_KEYS entry {position} must look like <id>:<base64 key>, "
                    "with an id of letters, digits, '-' or '_'"
                )
            try:
                key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            except (binascii.Error, ValueError):
                raise KeyConfigError(
                    f"CREDENTIAL_KEYS key {key_id!r} is not valid urlsafe base64"
                ) from None
            if len(key) != KEY_BYTES:
                raise KeyConfigError(
                    f"CREDENTIAL_KEYS key {key_id!r} must decode to {KEY_BYTES} bytes"
                )
            keys.append((key_id, key))
        return cls(keys)

    def key(self, key_id: str) -> bytes | None:
        return self._keys.get(key_id)

    def __contains__(self, key_id: str) -> bool:
        return key_id in self._keys


def new_key_line(key_id: str | None = None) -> str:
    key_id = key_id or "k" + secrets.token_hex(3)
    return f"{key_id}:{base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()}"


def development_keys(instance_path: str) -> str:
    """The development key ring, generated into the instance folder (mode 0600) on first run."""
    path = Path(instance_path) / DEV_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(new_key_line("dev1") + "\n")
    return path.read_text().strip()


#: What a ciphertext is for, first in its associated data: a registry's secret, or a token the
#: platform minted for it (AWS ECR). One is never accepted as the other.
SECRET_PURPOSE = "regcred"  # noqa: S105 - a label, not a secret
TOKEN_PURPOSE = "mintedtoken"  # noqa: S105 - a label, not a secret


def associated_data(
    org_id: int, registry_id: object, host_port: str, purpose: str = SECRET_PURPOSE
) -> bytes:
    return f"{purpose}:v1|{org_id}|{registry_id}|{host_port}".encode()


def fingerprint_owner(org_id: int, registry_id: object) -> bytes:
    return f"{org_id}|{registry_id}".encode()


class Vault:
    def __init__(self, ring: KeyRing):
        self.ring = ring

    def seal(self, plaintext: str, aad: bytes) -> Sealed:
        key_id = self.ring.primary_id
        nonce = os.urandom(NONCE_BYTES)
        cipher = AESGCM(self.ring.key(key_id))  # type: ignore[arg-type]
        return Sealed(key_id, nonce + cipher.encrypt(nonce, plaintext.encode(), aad))

    def open(self, sealed: Sealed, aad: bytes) -> str:
        key = self.ring.key(sealed.key_id)
        if key is None or len(sealed.blob) <= NONCE_BYTES:
            raise CredentialsUnreadable()
        nonce, ciphertext = sealed.blob[:NONCE_BYTES], sealed.blob[NONCE_BYTES:]
        try:
            return AESGCM(key).decrypt(nonce, ciphertext, aad).decode()
        except (InvalidTag, UnicodeDecodeError):
            raise CredentialsUnreadable() from None

    def fingerprint(self, key_id: str, owner: bytes, plaintext: str) -> str:
        """First 8 hex characters of an HMAC over the secret's owner and the secret: tells one
        registry's secrets apart over time, and correlates nothing across registries or orgs.

        The HMAC key is derived from the credential key that seals the secret (`key_id`), not
        from SECRET_KEY: a database dump plus SECRET_KEY (which signs sessions and is shared
        more widely) must not let anyone test guesses of a secret against its fingerprint, and
        retiring a credential key retires its fingerprint key too. The price: `flask keys
        rotate` recomputes every fingerprint with the new key, so a fingerprint can change
        without a replacement (the "replaced at" time shown beside it does not).
        """
        key = self.ring.key(key_id)
        if key is None:
            raise CredentialsUnreadable()
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"secret-fingerprint:v2"
        ).derive(key)
        message = owner + b"\x00" + plaintext.encode()
        return hmac.new(derived, message, hashlib.sha256).hexdigest()[:8]
