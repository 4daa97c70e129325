"""Starting the servers a benchmark measures: gunicorn on a free 127.0.0.1 port, and nowhere
else, with the product's settings passed from the script through the environment."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from config import normalise_database_url
from webapp.services.vault import new_key_line

ROOT = Path(__file__).resolve().parent.parent


def server_environment(database_url: str) -> dict[str, str]:
    """The servers' environment: this one plus a database, fresh keys and the repository on
    the import path; the BENCH_ settings are set in this process too, for `app_config`."""
    settings = {
        "BENCH_DATABASE_URL": normalise_database_url(database_url),
        "BENCH_CREDENTIAL_KEYS": new_key_line("bench"),
        "BENCH_SECRET_KEY": secrets.token_urlsafe(32),
    }
    os.environ.update(settings)
    return {**os.environ, **settings, "PYTHONPATH": str(ROOT)}


def app_config() -> dict[str, object]:
    """The product's settings in a bench, in its own process and in gunicorn's workers alike.
    Rate limits are off, so that what is measured is the product, not the limiter."""
    return {
        "SQLALCHEMY_DATABASE_URI": os.environ["BENCH_DATABASE_URL"],
        "CREDENTIAL_KEYS": os.environ["BENCH_CREDENTIAL_KEYS"],
        "SECRET_KEY": os.environ["BENCH_SECRET_KEY"],
        "RATELIMIT_ENABLED": False,
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(target: str, port: int, options: Sequence[str],
                   env: dict[str, str]) -> subprocess.Popen:
    """`python -m gunicorn OPTIONS --bind 127.0.0.1:PORT TARGET`, returned once it listens (the
    master binds before its workers boot: the first requests wait for them in the backlog)."""
    command = [
        sys.executable, "-m", "gunicorn", *options, "--bind", f"127.0.0.1:{port}",
        "--log-level", "warning", target,
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603 - our own arguments
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn ({target}) exited before it listened") from None
            time.sleep(0.1)
    server.terminate()
    raise SystemExit(f"gunicorn ({target}) did not start listening within 30 s")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
