"""Helpers for the registry client tests: loopback-only settings, targets and small HTTPS apps.

Servers come from the harness (`tests.support.token_server.HTTPSServer`, the fakes in
`tests.support.fake_providers`): HTTPS on 127.0.0.1 with a certificate from the session test CA.
The outbound policy used here lets exactly 127.0.0.1 through, nothing else.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import ip_network
from typing import Any

import pytest

from tests.support.pki import TestCA
from tests.support.token_server import HTTPSServer, Request, Response, json_response, parse_basic
from webapp.registry_client.address import parse_registry_url
from webapp.registry_client.check import CheckTarget, ClientSettings
from webapp.registry_client.policy import OutboundPolicy

LOOPBACK_ONLY = OutboundPolicy(allowed_networks=(ip_network("127.0.0.1/32"),))
API_VERSION = ("Docker-Distribution-API-Version", "registry/2.0")
UNAUTHORIZED = {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}
USER, SECRET = "alice", "SECRET-canary-7d1f"


def loopback_settings(**overrides: Any) -> ClientSettings:
    values: dict[str, Any] = {"policy": LOOPBACK_ONLY, "deadline_seconds": 5.0}
    values.update(overrides)
    return ClientSettings(**values)


def registry_target(url: str, **overrides: Any) -> CheckTarget:
    values: dict[str, Any] = {
        "kind": "docker_registry",
        "address": parse_registry_url(url),
        "username": USER,
        "secret": SECRET,
        "ca_pem": None,
    }
    values.update(overrides)
    return CheckTarget(**values)


def basic_registry(username: str = USER, password: str = SECRET) -> Callable[[Request], Response]:
    """A registry with htpasswd-style Basic auth on /v2/."""

    def app(req: Request) -> Response:
        if req.path != "/v2/":
            return json_response(404, {"errors": [{"code": "NOT_FOUND"}]}, [API_VERSION])
        if parse_basic(req.authorization) == (username, password):
            return json_response(200, {}, [API_VERSION])
        challenge = ("WWW-Authenticate", 'Basic realm="test-basic-realm"')
        return json_response(401, UNAUTHORIZED, [challenge, API_VERSION])

    return app


def bearer_challenge(realm: str, service: str = "test-registry") -> Callable[[Request], Response]:
    """A registry whose /v2/ always asks for a Bearer token from `realm`."""

    def app(req: Request) -> Response:
        challenge = ("WWW-Authenticate", f'Bearer realm="{realm}",service="{service}"')
        return json_response(401, UNAUTHORIZED, [challenge, API_VERSION])

    return app


@dataclass
class NamedCA:
    """The session CA, issuing server certificates for other host names (for mocked DNS)."""

    ca: TestCA
    hostnames: tuple[str, ...]

    def server_context(self) -> Any:
        return self.ca.server_context(self.hostnames)

    @property
    def cert_pem(self) -> str:
        return self.ca.cert_pem


@pytest.fixture
def serve(test_ca: TestCA) -> Iterator[Callable[..., HTTPSServer]]:
    """Start HTTPS apps on loopback; all are stopped at teardown."""
    servers: list[HTTPSServer] = []

    def start(app: Callable[[Request], Response], *, ca: Any = None) -> HTTPSServer:
        server = HTTPSServer(ca or test_ca, app, name="unit")
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def resolve_to_loopback(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Make chosen host names resolve to 127.0.0.1 (other names resolve as usual)."""
    real = socket.getaddrinfo
    names: set[str] = set()

    def fake(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host in names:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return names.add
