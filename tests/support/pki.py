"""A throw-away certificate authority for the registry test harness (``cryptography`` only).

    ca = TestCA.create(tmpdir, "registry-tests")
    cert_path, key_path = ca.issue_server_cert()          # SANs: DNS:localhost, IP:127.0.0.1
    ca.cert_path / ca.cert_pem                             # trust anchor for requests (verify=...)
    ca.write_cert_dir(tmpdir / "certs")                    # DIR/ca.crt for skopeo --cert-dir
    other = untrusted_ca(tmpdir)                           # a second CA nobody trusts

Keys are ECDSA P-256 (fast to generate; accepted by Go's crypto/tls and by OpenSSL). Nothing here
shells out to openssl.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import itertools
import os
import re
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "TestCA",
    "untrusted_ca",
    "self_signed_cert",
    "server_ssl_context",
    "write_key",
    "write_cert",
]

_VALIDITY = _dt.timedelta(days=2)
_BACKDATE = _dt.timedelta(hours=1)


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return path


def write_cert(path: Path, *certs: x509.Certificate) -> Path:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    return path


def _san(hostnames: Iterable[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def self_signed_cert(
    common_name: str, *, key: ec.EllipticCurvePrivateKey | None = None
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed cert (e.g. the token server's JWT signing cert for ``rootcertbundle``)."""
    key = key or _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


@dataclass
class TestCA:
    """A CA certificate + key on disk, able to issue TLS server certificates."""

    __test__ = False  # not a pytest test class, even when imported into a test module

    directory: Path
    name: str
    key: ec.EllipticCurvePrivateKey = field(repr=False)
    cert: x509.Certificate = field(repr=False)
    cert_path: Path
    key_path: Path
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    @classmethod
    def create(cls, tmpdir: str | os.PathLike[str], name: str = "test-ca") -> TestCA:
        """Create a CA in ``tmpdir/<name>/`` (files ``ca.crt`` and ``ca.key``)."""
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name) or "ca"
        directory = Path(tmpdir) / slug
        directory.mkdir(parents=True, exist_ok=True)
        key = _new_key()
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "registry test harness"),
                x509.NameAttribute(NameOID.COMMON_NAME, name),
            ]
        )
        now = _now()
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256())
        )
        cert_path = write_cert(directory / "ca.crt", cert)
        key_path = write_key(directory / "ca.key", key)
        return cls(
            directory=directory,
            name=name,
            key=key,
            cert=cert,
            cert_path=cert_path,
            key_path=key_path,
        )

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def issue_server_cert(
        self, hostnames: Iterable[str] = ("localhost", "127.0.0.1"), *, stem: str | None = None
    ) -> tuple[Path, Path]:
        """Issue a server cert (serverAuth; SANs: DNS names and IPs) → (cert_path, key_path).

        The cert file holds only the leaf; clients trust ``cert_path`` of this CA.
        """
        hostnames = tuple(hostnames)
        if not hostnames:
            raise ValueError("at least one hostname is needed")
        stem = stem or f"server-{next(self._serial)}"
        key = _new_key()
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(_san(hostnames), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        cert_path = write_cert(self.directory / f"{stem}.crt", cert)
        key_path = write_key(self.directory / f"{stem}.key", key)
        return cert_path, key_path

    def write_cert_dir(self, path: str | os.PathLike[str]) -> Path:
        """Write ``<path>/ca.crt`` (what skopeo's ``--cert-dir`` / ``--dest-cert-dir`` expects)."""
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "ca.crt").write_text(self.cert_pem)
        return directory

    def server_context(
        self, hostnames: Iterable[str] = ("localhost", "127.0.0.1")
    ) -> ssl.SSLContext:
        """A server-side ``ssl.SSLContext`` with a freshly issued cert from this CA."""
        cert_path, key_path = self.issue_server_cert(hostnames)
        return server_ssl_context(cert_path, key_path)


def untrusted_ca(tmpdir: str | os.PathLike[str], name: str = "untrusted-ca") -> TestCA:
    """A second, independent CA: certs it issues are NOT trusted by anything using the main CA."""
    return TestCA.create(tmpdir, name)


def server_ssl_context(
    cert_path: str | os.PathLike[str], key_path: str | os.PathLike[str]
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(os.fspath(cert_path), os.fspath(key_path))
    return ctx
