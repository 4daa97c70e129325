"""The exceptions of the registry client.

Every message is written by us for an admin to read. None of them ever contains a secret, a
token, a response body or a header value: callers show `str(error)` on pages and in logs, and
the exceptions are raised `from None` where a library exception could carry such data.
"""

from __future__ import annotations

from typing import Literal


class RegistryClientError(Exception):
    """Base class: anything the registry client refuses or fails at, with a user-facing message."""


class AddressError(RegistryClientError):
    """A registry address (or token realm) that we refuse to parse."""


class ChallengeError(RegistryClientError):
    """A `WWW-Authenticate` header that cannot be read."""


class CertificateError(RegistryClientError):
    """A CA certificate that cannot be used: not PEM, not a CA, expired, or a bundle that fails."""


class BlockedAddress(RegistryClientError):
    """The outbound policy refuses the destination (address, port or scheme).

    The message never names the resolved IP address: telling a tenant what an internal host name
    resolves to would turn the check into a DNS oracle for the operator's network.
    """

    def __init__(self, what: Literal["address", "port", "scheme"] = "address") -> None:
        self.what = what
        super().__init__(
            {
                "address": "The address is not allowed by the outbound policy.",
                "port": "The port is not allowed by the outbound policy "
                "(443, or 1024-65535 except well-known database and service ports).",
                "scheme": "Plain http:// is not allowed by the outbound policy.",
            }[what]
        )


UnreachableCause = Literal["name_not_found", "refused", "timed_out", "closed", "network"]

_UNREACHABLE_MESSAGES: dict[UnreachableCause, str] = {
    "name_not_found": "The host name could not be found (DNS).",
    "refused": "The connection was refused: nothing listens on that port.",
    "timed_out": "The server did not answer in time.",
    "closed": "The server closed the connection without answering.",
    "network": "The network path to the server failed.",
}


class Unreachable(RegistryClientError):
    """No HTTP answer: the name did not resolve, the connection failed, or it timed out."""

    def __init__(self, cause: UnreachableCause, message: str | None = None) -> None:
        self.cause = cause
        super().__init__(message or _UNREACHABLE_MESSAGES[cause])


class DeadlineExceeded(Unreachable):
    """The overall deadline of the check passed (the watchdog closed the connections)."""

    def __init__(self) -> None:
        super().__init__(
            "timed_out", "The check ran out of time: the server was too slow to answer."
        )


TlsProblem = Literal["expired", "hostname", "untrusted", "handshake"]

_TLS_MESSAGES: dict[TlsProblem, str] = {
    "expired": "The server's TLS certificate has expired or is not valid yet.",
    "hostname": "The server's TLS certificate does not match the registry's host name.",
    "untrusted": "The server's TLS certificate is not signed by a trusted CA.",
    "handshake": "The TLS handshake failed (is the server speaking https on this port?).",
}


class TlsFailure(RegistryClientError):
    """TLS verification or handshake failed."""

    def __init__(self, problem: TlsProblem) -> None:
        self.problem = problem
        super().__init__(_TLS_MESSAGES[problem])


class BodyTooLarge(RegistryClientError):
    """A response body went over the size cap; it was not read to the end."""

    def __init__(self) -> None:
        super().__init__("The server sent a response larger than the allowed size.")


class BadResponse(RegistryClientError):
    """The server answered with something that is not HTTP."""

    def __init__(self) -> None:
        super().__init__("The server's answer was not valid HTTP.")
