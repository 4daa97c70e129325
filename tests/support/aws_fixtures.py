"""pytest plugin: AWS for the ECR tests — moto's server, the scriptable fake, boto3 isolated.

Loaded through pytest's addopts (``-p tests.support.aws_fixtures``); the fixtures are documented
with the others in tests/support/registry_fixtures.py, the facts behind them in tests/support/aws.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.aws import (
    AwsEnv,
    MotoServer,
    ReservedPort,
    isolate_boto3,
    moto_available,
    start_moto_server,
)
from tests.support.components import missing
from tests.support.fake_aws import FakeAWS
from tests.support.pki import TestCA

__all__ = ["aws_env", "aws_unreachable_url", "fake_aws", "moto_server"]


@pytest.fixture(scope="session")
def moto_server(registry_harness_dir: Path) -> Iterator[MotoServer]:
    why = moto_available()
    if why:
        missing("moto server", why)
    server = start_moto_server(registry_harness_dir)
    try:
        yield server
    finally:
        server.stop()
        if server.running:
            raise RuntimeError(f"moto server (pid {server.pid}) is still running after stop()")


@pytest.fixture
def aws_env(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AwsEnv:
    moto_server.reset()
    return isolate_boto3(monkeypatch, tmp_path / "aws", moto_server.url)


@pytest.fixture
def fake_aws(
    request: pytest.FixtureRequest, test_ca: TestCA, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[FakeAWS]:
    fake = FakeAWS(test_ca).start()
    try:
        if "aws_env" in request.fixturenames:  # both: the fake takes the global endpoint
            env: AwsEnv = request.getfixturevalue("aws_env")
            env.point_at(fake.url)
        else:
            env = isolate_boto3(monkeypatch, tmp_path / "aws", fake.url)
        env.trust_ca(fake.ca_file)
        fake.env = env
        yield fake
    finally:
        fake.stop()
    if fake.running:
        raise RuntimeError("fake AWS still running after stop()")


@pytest.fixture
def aws_unreachable_url() -> Iterator[str]:
    """A loopback URL that refuses connections at once (what an unknown region's endpoint is to
    boto3: ``EndpointConnectionError``)."""
    port = ReservedPort()
    try:
        yield port.url
    finally:
        port.close()
