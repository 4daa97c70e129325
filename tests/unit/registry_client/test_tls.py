"""CA certificate validation and the one SSL context (certifi + bundle + the registry's CA)."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from webapp.registry_client.errors import CertificateError
from webapp.registry_client.tls import build_ssl_context, validate_ca_pem

NOW = datetime.now(UTC)


def _cert(
    name: str,
    *,
    ca: bool | None,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None,
    start: datetime = NOW - timedelta(days=1),
    end: datetime = NOW + timedelta(days=30),
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_cert, issuer_key = issuer or (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
    )
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), True)
    return builder.sign(issuer_key, hashes.SHA256()), key


def _pem(*certs: x509.Certificate) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)


@pytest.fixture(scope="module")
def root():
    return _cert("Test Root CA", ca=True)


def test_a_ca_certificate_is_accepted_and_normalised(root):
    text = "  \n" + _pem(root[0]).replace("\n", "\r\n") + "\ntrailing words\n"
    assert validate_ca_pem(text) == _pem(root[0])


def test_a_chain_of_ca_certificates_is_accepted(root):
    intermediate, _ = _cert("Intermediate CA", ca=True, issuer=root)
    assert validate_ca_pem(_pem(intermediate, root[0])) == _pem(intermediate, root[0])


def test_a_self_signed_certificate_without_constraints_is_accepted():
    self_signed, _ = _cert("registry.internal", ca=None)
    assert validate_ca_pem(_pem(self_signed)) == _pem(self_signed)


def test_a_leaf_certificate_is_refused(root):
    leaf, _ = _cert("registry.example.com", ca=False, issuer=root)
    with pytest.raises(CertificateError, match="not a CA certificate"):
        validate_ca_pem(_pem(leaf))
    with pytest.raises(CertificateError, match="Certificate 1 is not a CA"):
        validate_ca_pem(_pem(leaf, root[0]))


def test_an_expired_ca_is_refused():
    expired, _ = _cert(
        "Old CA", ca=True, start=NOW - timedelta(days=60), end=NOW - timedelta(days=1)
    )
    with pytest.raises(CertificateError, match="expired on"):
        validate_ca_pem(_pem(expired))


def test_a_ca_not_valid_yet_is_refused():
    future, _ = _cert("Future CA", ca=True, start=NOW + timedelta(days=2))
    with pytest.raises(CertificateError, match="not valid until"):
        validate_ca_pem(_pem(future))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "PEM form"),
        ("hello", "PEM form"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "could not be read"),
        ("-----BEGIN CERTIFICATE-----\nnot base64 at all\n", "could not be read"),
    ],
)
def test_text_that_is_not_a_certificate_is_refused(text, message):
    with pytest.raises(CertificateError, match=message):
        validate_ca_pem(text)


def test_a_private_key_is_refused_and_not_echoed(root):
    key_pem = (
        root[1]
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with pytest.raises(CertificateError, match="private key") as caught:
        validate_ca_pem(_pem(root[0]) + key_pem)
    assert key_pem.splitlines()[1] not in str(caught.value)


def _subjects(context: ssl.SSLContext) -> set[str]:
    return {
        value
        for cert in context.get_ca_certs()
        for rdn in cert["subject"]
        for key, value in rdn
        if key == "commonName"
    }


def test_context_keeps_the_public_store_and_adds_ours(root, tmp_path):
    other, _ = _cert("Bundle CA", ca=True)
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(_pem(other))
    public = ssl.create_default_context(cafile=certifi.where()).cert_store_stats()["x509_ca"]
    context = build_ssl_context([_pem(root[0])], str(bundle))
    assert context.cert_store_stats()["x509_ca"] == public + 2
    assert {"Test Root CA", "Bundle CA"} <= _subjects(context)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_unreadable_bundle_or_ca_is_a_certificate_error(tmp_path):
    with pytest.raises(CertificateError, match="REGISTRY_CA_BUNDLE"):
        build_ssl_context([], str(tmp_path / "missing.pem"))
    with pytest.raises(CertificateError, match="registry's CA certificate"):
        build_ssl_context(["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"], None)
