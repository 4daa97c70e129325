"""Sweep benchmark: 1,000 registries on loopback, 10% hanging, on the thread pool.

    PYTHONPATH=. .venv/bin/python bench/checks.py [--registries 1000] [--hanging 0.1]
        [--timeout 10] [--concurrency 128] [--database-url URL]

design.md's target: a sweep of 1,000 registries, 10% of them hanging, finishes within two check
timeouts with CHECK_CONCURRENCY=128. Answering registries are a small registry-like HTTPS server
in a child process (a Basic challenge on /v2/, then 200 for the right credentials): light, so the
numbers measure our side, not the real docker-registry. Hanging registries point at a socket that
accepts connections and never answers, so each holds a thread until the check's deadline.
Prints the sweep's time as a multiple of the check timeout, the outcomes, peak threads and peak
memory (the process's maximum resident set). The database is a temporary SQLite file unless
--database-url names another (its tables are created; use an empty database).
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import resource
import socket
import tempfile
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.pki import TestCA, server_ssl_context
from webapp import create_app
from webapp.extensions import db
from webapp.models import Registry
from webapp.services import accounts, credentials, sweep
from webapp.services.vault import new_key_line

USERNAME, PASSWORD = "bench", "bench-password"
EXPECTED_AUTH = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()


class RegistryHandler(BaseHTTPRequestHandler):
    """Just enough of the Registry v2 sign-in: /v2/ challenges, then accepts our credentials."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        headers = {"Docker-Distribution-API-Version": "registry/2.0"}
        if self.headers.get("Authorization") == EXPECTED_AUTH:
            status, body = 200, b"{}"
            headers["Content-Type"] = "application/json"
        else:
            status, body = 401, b'{"errors":[{"code":"UNAUTHORIZED"}]}'
            headers["WWW-Authenticate"] = 'Basic realm="bench"'
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def serve_registry(cert_path: str, key_path: str, ports: multiprocessing.Queue) -> None:
    """The child process: TLS handshakes happen in the per-connection threads."""
    ThreadingHTTPServer.request_queue_size = 1024
    server = ThreadingHTTPServer(("127.0.0.1", 0), RegistryHandler)
    server.socket = server_ssl_context(cert_path, key_path).wrap_socket(
        server.socket, server_side=True, do_handshake_on_connect=False
    )
    ports.put(server.server_address[1])
    server.serve_forever()


def seed(count: int, hanging: int, fast_host: str, silent_host: str, ca_pem: str) -> None:
    org = accounts.create_org("bench", "Bench", "enterprise")
    db.session.flush()
    for index in range(count):
        name = f"registry-{index}"
        registry = Registry(
            id=uuid.uuid4(), org_id=org.id, kind="docker_registry", name=name, name_key=name,
            host=silent_host if index < hanging else fast_host, namespace=f"ns{index}",
            username=USERNAME, state="active", status="checking", ca_certificate=ca_pem,
        )
        credentials.store_secret(registry, PASSWORD)
        db.session.add(registry)
    db.session.commit()


class PeakThreads:
    """Samples this process's thread count every few milliseconds."""

    def __init__(self) -> None:
        self.peak = threading.active_count()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="bench-sampler", daemon=True)

    def __enter__(self) -> PeakThreads:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, threading.active_count())


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registries", type=int, default=1000)
    parser.add_argument("--hanging", type=float, default=0.1, help="share that never answers")
    parser.add_argument("--timeout", type=float, default=10.0, help="CHECK_TIMEOUT_SECONDS")
    parser.add_argument("--concurrency", type=int, default=128, help="CHECK_CONCURRENCY")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    options = parser.parse_args()
    hanging = round(options.registries * options.hanging)

    with tempfile.TemporaryDirectory(prefix="bench-checks-") as tmp:
        ca = TestCA.create(tmp, "bench-ca")
        cert_path, key_path = ca.issue_server_cert()
        ports: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()
        server = multiprocessing.get_context("spawn").Process(
            target=serve_registry, args=(str(cert_path), str(key_path), ports), daemon=True
        )
        server.start()
        silent = socket.create_server(("127.0.0.1", 0), backlog=4096)
        try:
            fast_host = f"127.0.0.1:{ports.get(timeout=30)}"
            silent_host = f"127.0.0.1:{silent.getsockname()[1]}"
            app = create_app({
                "SQLALCHEMY_DATABASE_URI": options.database_url
                or f"sqlite:///{Path(tmp) / 'bench.db'}",
                "SECRET_KEY": "bench-secret-key",
                "CREDENTIAL_KEYS": new_key_line("b1"),
                "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.1/32",
                "CHECK_EXECUTOR": "threads",
                "CHECK_TIMEOUT_SECONDS": options.timeout,
                "CHECK_CONCURRENCY": options.concurrency,
            })
            with app.app_context():
                db.create_all()
                seed(options.registries, hanging, fast_host, silent_host, ca.cert_pem)
                run(app, options, hanging)
        finally:
            silent.close()
            server.terminate()
            server.join(timeout=10)


def run(app, options: argparse.Namespace, hanging: int) -> None:
    rss_before = max_rss_mib()
    answered: list[float] = []
    with PeakThreads() as threads:
        started = time.monotonic()
        report = sweep.run_due()
        claimed_after = time.monotonic() - started
        for future in report.running:
            future.add_done_callback(
                lambda f: f.result() == "connected" and answered.append(time.monotonic())
            )
        outcomes: Counter[str] = report.wait()
        total = time.monotonic() - started
    app.extensions["checks_executor"].shutdown()
    engine = db.engine.url.get_backend_name()
    print(
        f"{options.registries} registries ({options.registries - hanging} answering, {hanging} "
        f"hanging), CHECK_CONCURRENCY={options.concurrency}, CHECK_TIMEOUT_SECONDS="
        f"{options.timeout:g}, database {engine}"
    )
    print(f"claimed {report.claimed} in {claimed_after:.2f} s")
    print(f"outcomes: {', '.join(f'{name} {count}' for name, count in sorted(outcomes.items()))}")
    if answered:
        print(f"answering registries all done after {max(answered) - started:.2f} s")
    print(
        f"sweep done in {total:.2f} s = {total / options.timeout:.2f} x the check timeout "
        f"(target: at most 2)"
    )
    print(f"peak threads: {threads.peak}")
    print(f"peak memory (max RSS): {max_rss_mib():.0f} MiB ({rss_before:.0f} MiB before the sweep)")


if __name__ == "__main__":
    main()
