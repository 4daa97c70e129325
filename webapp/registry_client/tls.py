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
from cryptography.exceptions import InvalidSignature
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
    moment = datetime.now(UTC)
    for position, certificate in enumerate(certificates, start=1):
        label = f"Certificate {position}" if len(certificates) > 1 else "The certificate"
        if not (_is_ca(certificate) or _is_self_signed(certificate)):
            raise CertificateError(
                f"{label} is not a CA certificate. Paste the CA that signed the registry's "
                "certificate, not the registry's own certificate."
            )
        if certificate.not_valid_after_utc < moment:
            raise CertificateError(
                f"{label} expired on {certificate.not_valid_after_utc:%Y-%m-%d}."
            )
        if certificate.not_valid_before_utc > moment:
            raise CertificateError(
                f"{label} is not valid until {certificate.not_valid_before_utc:%Y-%m-%d}."
            )
    return "".join(c.public_bytes(Encoding.PEM).decode("ascii") for c in certificates)


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return constraints.ca


def _is_self_signed(certificate: x509.Certificate) -> bool:
    if certificate.issuer != certificate.subject:
        return False
    try:
        certificate.verify_directly_issued_by(certificate)
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
