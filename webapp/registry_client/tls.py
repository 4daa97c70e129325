"""TLS trust for checks: validating a registry's CA certificate and building the SSL context.

An admin may paste the CA that signed a private registry's certificate. It is validated when it
is entered (so the form can say what is wrong) and added, at check time, to the default store
(certifi) and the installation's `REGISTRY_CA_BUNDLE` in one `ssl.SSLContext`. Passing
`verify=<path>` to requests would *replace* the default store, so adding a private CA would break
every public registry; and there is deliberately no way to skip verification.
"""

from __future__ import annotations

import functools
import ssl
from datetime import UTC, datetime

import certifi
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding

from .errors import CertificateError


def validate_ca_pem(text: str) -> str:
    """Check pasted PEM text and return it normalised (certificates only, in their PEM form).

    Every certificate must parse, be a CA (basicConstraints CA:TRUE) or self-signed, and be
    within its validity period. A chain of several CA certificates is accepted.
    """
    if "PRIVATE KEY-----" in text:
        raise CertificateError(
            "This text contains a private key. Paste only the CA certificate, "
            "and consider replacing that key."
        )
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise CertificateError(
            "Paste the CA certificate in PEM form (it starts with -----BEGIN CERTIFICATE-----)."
        )
    try:
        certificates = x509.load_pem_x509_certificates(text.encode("ascii", "replace"))
    except ValueError:
        raise CertificateError(
            "The certificate could not be read: the PEM text is damaged or incomplete."
        ) from None
    except x509.InvalidVersion:
        raise CertificateError(
            "The certificate could not be read: its X.509 version is not valid."
        ) from None
    except Warning:  # only when warnings are errors: see _UNREADABLE
        raise CertificateError(
            "The certificate could not be read: it breaks the X.509 rules (RFC 5280)."
        ) from None
    moment = datetime.now(UTC)
    for position, certificate in enumerate(certificates, start=1):
        label = f"Certificate {position}" if len(certificates) > 1 else "The certificate"
        try:
            _check_certificate(certificate, label, moment)
        except _UNREADABLE:
            # Anything cryptography parses lazily and we did not name below; never a 500.
            raise CertificateError(f"{label} could not be read: it is malformed.") from None
    return "".join(c.public_bytes(Encoding.PEM).decode("ascii") for c in certificates)


# What cryptography raises for a certificate that loaded but has a part it cannot read: extensions
# and names are only parsed when first used (ValueError for malformed DER, DuplicateExtension,
# UnsupportedGeneralNameType for x400Address/ediPartyName) and an unknown key type or curve gives
# UnsupportedAlgorithm. None of them is a CertificateError, so each must be translated. Rule
# breaches cryptography tolerates (a serial number that is not positive, a country name that is
# not two letters) are only warnings, which arrive here as exceptions when the process turns
# warnings into errors (python -W error, pytest's filterwarnings); they are refused then too.
_UNREADABLE = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
    Warning,
)


def _check_certificate(certificate: x509.Certificate, label: str, moment: datetime) -> None:
    if not (_is_ca(certificate, label) or _is_self_signed(certificate, label)):
        raise CertificateError(
            f"{label} is not a CA certificate. Paste the CA that signed the registry's "
            "certificate, not the registry's own certificate."
        )
    if certificate.not_valid_after_utc < moment:
        raise CertificateError(f"{label} expired on {certificate.not_valid_after_utc:%Y-%m-%d}.")
    if certificate.not_valid_before_utc > moment:
        raise CertificateError(
            f"{label} is not valid until {certificate.not_valid_before_utc:%Y-%m-%d}."
        )


def _is_ca(certificate: x509.Certificate, label: str) -> bool:
    try:
        extensions = certificate.extensions
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType):
        raise CertificateError(
            f"{label} could not be read: one of its extensions is malformed."
        ) from None
    try:
        constraints = extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return constraints.ca


def _is_self_signed(certificate: x509.Certificate, label: str) -> bool:
    try:
        if certificate.issuer != certificate.subject:
            return False
    except (ValueError, Warning):
        raise CertificateError(
            f"{label} could not be read: its subject or issuer name is malformed."
        ) from None
    try:
        certificate.verify_directly_issued_by(certificate)
    except UnsupportedAlgorithm:
        raise CertificateError(
            f"{label} has a public key type that is not supported (unknown algorithm or curve)."
        ) from None
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def build_ssl_context(extra_pems: list[str], bundle_path: str | None) -> ssl.SSLContext:
    """certifi's store + the installation's bundle + the registry's own CAs, in one context.

    Hostname checking and certificate verification stay on (the `create_default_context`
    defaults). Partial chains are accepted so that a pasted intermediate CA works as a trust
    anchor, which is what an admin who pastes it means. Contexts are cached per set of CAs:
    loading certifi's store costs ~20 ms of CPU, which a sweep of a thousand checks would pay
    a thousand times; a context is safe to share between threads once built.
    """
    return _cached_context(tuple(extra_pems), bundle_path)


@functools.lru_cache(maxsize=256)
def _cached_context(extra_pems: tuple[str, ...], bundle_path: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certifi.where())
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    if bundle_path:
        try:
            context.load_verify_locations(cafile=bundle_path)
        except (OSError, ssl.SSLError):
            raise CertificateError(
                "The installation's CA bundle (REGISTRY_CA_BUNDLE) could not be loaded."
            ) from None
    for pem in extra_pems:
        try:
            context.load_verify_locations(cadata=pem)
        except (ssl.SSLError, ValueError):
            raise CertificateError(
                "The registry's CA certificate could not be loaded; paste it again."
            ) from None
    return context
