"""CA certificate validation and the one SSL context (certifi + bundle + the registry's CA)."""

from __future__ import annotations

import base64
import contextlib
import ssl
import textwrap
import warnings
from datetime import UTC, datetime, timedelta

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID, ObjectIdentifier
from hypothesis import example, given
from hypothesis import strategies as st

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


# --- certificates that load but have a part that does not parse -------------------------------

_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_EXTENSION_MALFORMED = "could not be read: one of its extensions is malformed"


def _rsa_self_signed(*extensions: x509.ExtensionType, name: str = "Broken CA") -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(_RSA_KEY.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
    )
    for extension in extensions:
        builder = builder.add_extension(extension, critical=True)
    return builder.sign(_RSA_KEY, hashes.SHA256())


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def _pem_der(der: bytes) -> str:
    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


def _patched(certificate: x509.Certificate, old: bytes, new: bytes) -> str:
    """The certificate's DER with one byte string replaced (the signature no longer matches)."""
    der = _der(certificate)
    assert der.count(old) == 1 and len(old) == len(new)
    return _pem_der(der.replace(old, new))


def _garbage(oid: str, value: bytes) -> x509.UnrecognizedExtension:
    return x509.UnrecognizedExtension(ObjectIdentifier(oid), value)


BASIC_CONSTRAINTS, KEY_USAGE, SUBJECT_ALT_NAME = "2.5.29.19", "2.5.29.15", "2.5.29.17"


@pytest.mark.parametrize(
    "extension",
    [
        _garbage(BASIC_CONSTRAINTS, b"\xde\xad\xbe\xef"),  # not DER at all
        _garbage(BASIC_CONSTRAINTS, b""),
        _garbage(BASIC_CONSTRAINTS, bytes.fromhex("3003010105")),  # BOOLEAN that is not 00/ff
        _garbage(KEY_USAGE, b"\xde\xad\xbe\xef"),
        _garbage(KEY_USAGE, bytes.fromhex("3003010101")),  # a SEQUENCE, not a BIT STRING
        _garbage(SUBJECT_ALT_NAME, bytes.fromhex("3004a3020500")),  # x400Address: unsupported
    ],
    ids=["bc-garbage", "bc-empty", "bc-bad-boolean", "ku-garbage", "ku-wrong-type", "san-x400"],
)
def test_a_malformed_extension_is_a_certificate_error(extension):
    certificate = _rsa_self_signed(extension)
    with pytest.raises(CertificateError, match=f"^The certificate {_EXTENSION_MALFORMED}"):
        validate_ca_pem(_pem(certificate))


def test_a_malformed_extension_in_a_chain_names_the_certificate(root):
    broken = _rsa_self_signed(_garbage(BASIC_CONSTRAINTS, b"\xde\xad\xbe\xef"))
    with pytest.raises(CertificateError, match=f"^Certificate 2 {_EXTENSION_MALFORMED}"):
        validate_ca_pem(_pem(root[0], broken))


def test_a_duplicate_extension_is_a_certificate_error():
    # Built with basicConstraints and a private OID of the same length, then renamed to a second
    # basicConstraints: cryptography raises DuplicateExtension, which is not a ValueError.
    certificate = _rsa_self_signed(
        x509.BasicConstraints(ca=True, path_length=None),
        _garbage("2.5.29.99", bytes.fromhex("30030101ff")),
    )
    text = _patched(certificate, bytes.fromhex("0603551d63"), bytes.fromhex("0603551d13"))
    with pytest.raises(CertificateError, match=_EXTENSION_MALFORMED):
        validate_ca_pem(text)


def test_an_unknown_key_type_is_a_certificate_error():
    # rsaEncryption renamed to an unassigned OID: checking the self-signature raises
    # UnsupportedAlgorithm.
    certificate = _rsa_self_signed()
    rsa_encryption = bytes.fromhex("06092a864886f70d010101")
    text = _patched(certificate, rsa_encryption, bytes.fromhex("06092a864886f70d010163"))
    with pytest.raises(CertificateError, match="key type that is not supported"):
        validate_ca_pem(text)


def test_an_unknown_curve_is_a_certificate_error():
    self_signed, _ = _cert("registry.internal", ca=None)
    prime256v1 = bytes.fromhex("06082a8648ce3d030107")
    text = _patched(self_signed, prime256v1, bytes.fromhex("06082a8648ce3d030163"))
    with pytest.raises(CertificateError, match="key type that is not supported"):
        validate_ca_pem(text)


def test_a_malformed_name_is_a_certificate_error():
    certificate = _rsa_self_signed(name="bad")
    der = _der(certificate)
    utf8_name = bytes.fromhex("0c03") + b"bad"
    assert der.count(utf8_name) == 2  # issuer and subject
    text = _pem_der(der.replace(utf8_name, bytes.fromhex("0c03fffefd")))  # not UTF-8
    with pytest.raises(CertificateError, match="its subject or issuer name is malformed"):
        validate_ca_pem(text)


def test_an_invalid_version_is_a_certificate_error():
    # Version v3 (INTEGER 2) changed to 57: cryptography raises InvalidVersion while loading.
    text = _patched(_rsa_self_signed(), bytes.fromhex("a003020102"), bytes.fromhex("a003020139"))
    with pytest.raises(CertificateError, match="X.509 version is not valid"):
        validate_ca_pem(text)


def _negative_serial_ca() -> str:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Negative Serial CA")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(_RSA_KEY.public_key())
        .serial_number(0x1234567)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(_RSA_KEY, hashes.SHA256())
    )
    return _patched(certificate, bytes.fromhex("020401234567"), bytes.fromhex("020481234567"))


def _one_letter_country() -> str:
    # commonName "y" renamed to countryName: cryptography warns that it is not two letters.
    certificate = _rsa_self_signed(name="y")
    der = _der(certificate)
    common_name = bytes.fromhex("06035504030c0179")
    assert der.count(common_name) == 2
    return _pem_der(der.replace(common_name, bytes.fromhex("06035504060c0179")))


@pytest.mark.parametrize("make", [_negative_serial_ca, _one_letter_country])
def test_rule_breaches_cryptography_only_warns_about_never_escape(make):
    text = make()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as under python -W error (and this test suite)
        with pytest.raises(CertificateError, match="could not be read"):
            validate_ca_pem(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as in production: a warning, then our own verdict
        _only_certificate_errors(text)


def _pem_wrap(data: bytes) -> str:
    return _pem_der(data) if data else "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"


def _only_certificate_errors(text: str) -> None:
    with contextlib.suppress(CertificateError):
        assert isinstance(validate_ca_pem(text), str)


@given(st.text())
@example("-----BEGIN CERTIFICATE-----")
@example("-----BEGIN CERTIFICATE-----\n\udcff\n-----END CERTIFICATE-----\n")
def test_arbitrary_text_only_ever_raises_certificate_error(text):
    _only_certificate_errors(text)


@given(st.binary(max_size=2048))
@example(b"")
@example(b"\x30\x00")
def test_pem_wrapped_random_bytes_only_ever_raise_certificate_error(data):
    _only_certificate_errors(_pem_wrap(data))


_SEED = _der(
    _rsa_self_signed(
        x509.BasicConstraints(ca=False, path_length=None),
        x509.KeyUsage(True, False, False, False, False, True, True, False, False),
        x509.SubjectAlternativeName([x509.DNSName("registry.internal")]),
        name="Seed",
    )
)


@given(
    st.lists(st.tuples(st.integers(0, len(_SEED) - 1), st.integers(0, 255)), min_size=1, max_size=8)
)
def test_pem_wrapped_damaged_certificates_only_ever_raise_certificate_error(changes):
    der = bytearray(_SEED)
    for position, value in changes:
        der[position] = value
    _only_certificate_errors(_pem_wrap(bytes(der)))
