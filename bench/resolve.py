"""Runner API benchmark: one org with 10,000 registries, against a route that only checks the token.

    PYTHONPATH=. .venv/bin/python bench/resolve.py [--registries 10000] [--seconds 10]
        [--rounds 2] [--workers 2] [--threads 4] [--clients 2x4] [--database-url URL]

design.md's target: `POST /api/v1/pull-credentials` at 10,000 registries in one org serves
>= 0.5x the requests per second of a signed-in API route that only checks the runner token, in
the same server. Both routes run in one real gunicorn (gthread workers) on 127.0.0.1, started by
this script; the token-only route exists only in this script's app (`server_app`), never in the
product. Rate limits are OFF (RATELIMIT_ENABLED=False) so that both routes are measured, not
the limiter.

The org's registries mix what a large org has: thousands of GitHub namespaces on ghcr.io (the
same host, so resolution cannot lean on the host alone), Docker Hub namespaces and thousands of
self-hosted registries. Requests rotate over images that each resolve to one of them, so every
API call does the whole hand-off: token, org, resolution, decryption, audit count.

A second API phase asks for `"credential": "pull_token"` for images on one more registry of the
org, a plain-http Bearer registry this script serves on 127.0.0.1 (`_TokenRegistry`): each
worker exchanges once per repository during the warm-up, and the timed answers come from its
cache (the script counts the exchanges and says so). Each phase's ratio is to the token-only
phase of the same round.

Load comes from client processes (`--clients PROCESSESxTHREADS`), each thread with one keep-alive
connection, in closed loop. Phases alternate (token-only, API, token-only, API, ...) so drift on
a noisy machine hits both; the ratio printed is the median over rounds. The database is a
temporary SQLite file unless --database-url names another (tables are created if missing; the
script adds its own org and token, so it can run on the same database again).
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import json
import multiprocessing
import secrets
import statistics
import tempfile
import threading
import time
import uuid

from flask import Flask, jsonify, request

from bench.serving import app_config, free_port, server_environment, start_gunicorn, stop
from webapp import create_app
from webapp.extensions import csrf, db
from webapp.models import Registry
from webapp.request_hooks import reads_first
from webapp.services import accounts, credentials, runner_tokens

API = "/api/v1/pull-credentials"
# Under /api/ like the runner API, so it gets the same request hooks (a JSON body is refused
# with 415 anywhere else).
BASELINE_PATH = "/api/bench/token-only"


def server_app() -> Flask:
    """What gunicorn serves: the product's app plus the bench-only baseline route. Outbound
    requests may reach 127.0.0.1 over plain http: the bench's own token registry is there."""
    app = create_app({
        **app_config(), "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.1/32",
        "ALLOW_INSECURE_REGISTRIES": True,
    })

    @csrf.exempt
    @reads_first  # like the API: a POST that reads takes no SQLite write lock
    def token_only():
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        token = runner_tokens.authenticate(value.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            return jsonify(error="invalid_token"), 401
        return jsonify(ok=True)

    app.add_url_rule(BASELINE_PATH, "bench_token_only", token_only, methods=["POST"])
    return app


class _TokenRegistry(http.server.BaseHTTPRequestHandler):
    """A plain-http Registry v2 behind a Bearer token service, on 127.0.0.1: what the pull-token
    phase exchanges with (once per worker and repository; then the answers come from the
    cache, which is what that phase measures)."""

    exchanges = 0

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        if self.path.startswith("/token"):
            type(self).exchanges += 1
            body = json.dumps({"token": secrets.token_urlsafe(32), "expires_in": 3600}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
        else:
            host = self.headers.get("Host", "")
            body = b'{"errors": [{"code": "UNAUTHORIZED"}]}'
            self.send_response(401)
            self.send_header(
                "WWW-Authenticate", f'Bearer realm="http://{host}/token",service="bench"'
            )
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def start_token_registry() -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TokenRegistry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def seed(count: int, token_registry: str) -> tuple[str, str, list[str], list[str]]:
    """An Enterprise org with `count` registries, one of them `token_registry` (host:port, a
    Bearer registry on 127.0.0.1); returns (org slug, runner token, images, pull-token images).
    """
    slug = f"bench-{secrets.token_hex(3)}"
    org = accounts.create_org(slug, "Bench", "enterprise")
    db.session.flush()
    github, hub = count * 4 // 10, count // 10
    rows: list[tuple[str, str, str]] = []
    rows += [("github", "ghcr.io", f"team-{n}") for n in range(github)]
    rows += [("docker_hub", "docker.io", f"org-{n}") for n in range(hub)]
    rows += [
        ("docker_registry", f"registry-{n}.corp.example:5000", "apps")
        for n in range(count - github - hub - 1)
    ]
    rows.append(("docker_registry", token_registry, ""))
    for index, (kind, host, namespace) in enumerate(rows):
        registry = Registry(
            id=uuid.uuid4(), org_id=org.id, kind=kind, name=f"registry {index}",
            name_key=f"registry {index}", host=host, namespace=namespace, username="puller",
            state="active", status="connected",
            scheme="http" if host == token_registry else "https",
        )
        credentials.store_secret(registry, f"secret-{index}")
        db.session.add(registry)
    token, _ = runner_tokens.create(slug)  # a platform token
    db.session.commit()
    images = [
        f"ghcr.io/team-{github // 3}/scanner:1.4",
        f"ghcr.io/team-{github - 1}/sub/tool",
        f"org-{hub // 2}/app:2",
        f"registry-{(count - github - hub) // 2}.corp.example:5000/apps/svc@sha256:{'a' * 64}",
    ]
    pull_token_images = [f"{token_registry}/team-{n}/tool:1" for n in range(4)]
    return slug, token, images, pull_token_images


def client_process(port: int, path: str, bodies: list[bytes], token: str, threads: int,
                   seconds: float, results: multiprocessing.Queue) -> None:
    """Closed-loop load on `threads` keep-alive connections; puts (count, latencies, errors)."""
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def loop(offset: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        failed: list[int] = []
        index = offset
        while time.monotonic() < stop:
            started = time.perf_counter()
            connection.request("POST", path, body=bodies[index % len(bodies)], headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                failed.append(response.status)
            index += 1
        connection.close()
        with lock:
            latencies.extend(mine)
            errors.extend(failed)

    workers = [threading.Thread(target=loop, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    results.put((latencies, errors))


def measure(port: int, path: str, bodies: list[bytes], token: str, clients: tuple[int, int],
            seconds: float) -> tuple[float, float]:
    """(requests per second, p99 latency in ms) of one phase."""
    processes, threads = clients
    results: multiprocessing.Queue = multiprocessing.Queue()
    started = time.monotonic()
    children = [
        multiprocessing.Process(
            target=client_process, args=(port, path, bodies, token, threads, seconds, results)
        )
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    latencies: list[float] = []
    errors: list[int] = []
    for _ in children:
        mine, failed = results.get()
        latencies.extend(mine)
        errors.extend(failed)
    elapsed = time.monotonic() - started
    for child in children:
        child.join()
    if errors:
        raise SystemExit(f"{path}: {len(errors)} requests failed, e.g. HTTP {errors[0]}")
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000
    return len(latencies) / min(elapsed, seconds + 1), p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registries", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--clients", default="2x4", help="client PROCESSESxTHREADS")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    options = parser.parse_args()
    clients = tuple(int(part) for part in options.clients.lower().split("x"))
    if len(clients) != 2:
        parser.error("--clients must look like 2x4")

    token_registry = start_token_registry()
    registry_host = f"127.0.0.1:{token_registry.server_address[1]}"
    with tempfile.TemporaryDirectory(prefix="bench-resolve-") as scratch:
        env = server_environment(options.database_url or f"sqlite:///{scratch}/bench.db")
        setup = create_app(app_config())
        with setup.app_context():
            db.create_all()
            started = time.monotonic()
            slug, token, images, token_images = seed(options.registries, registry_host)
            seeded = time.monotonic() - started
            db.engine.dispose()
        phases = {
            "password": [json.dumps({"organization": slug, "image": image}).encode()
                         for image in images],
            "pull_token": [json.dumps({"organization": slug, "image": image,
                                       "credential": "pull_token"}).encode()
                           for image in token_images],
        }
        backend = env["BENCH_DATABASE_URL"].split(":", 1)[0]
        print(f"runner API vs token-only route, one org with {options.registries:,} registries "
              f"(seeded in {seeded:.1f} s), database {backend}")
        print(f"gunicorn gthread {options.workers} workers x {options.threads} threads on "
              f"127.0.0.1; clients {clients[0]} processes x {clients[1]} keep-alive connections; "
              f"{options.seconds:g} s per phase; rate limits OFF (RATELIMIT_ENABLED=False); "
              "pull_token answers come from each worker's cache (filled in the warm-up)")

        port = free_port()
        server = start_gunicorn("bench.resolve:server_app()", port, [
            "--worker-class", "gthread", "--workers", str(options.workers),
            "--threads", str(options.threads), "--keep-alive", "30",
        ], env)
        try:
            for bodies in phases.values():  # warm the routes (and the token caches) up
                measure(port, API, bodies, token, clients, 2)
            for _ in range(5):  # until every worker has every repository's token
                before = _TokenRegistry.exchanges
                measure(port, API, phases["pull_token"], token, clients, 1)
                if _TokenRegistry.exchanges == before:
                    break
            measure(port, BASELINE_PATH, phases["password"], token, clients, 2)
            warm_exchanges = _TokenRegistry.exchanges
            throughput: dict[str, list[float]] = {name: [] for name in phases}
            latency: dict[str, list[float]] = {name: [] for name in phases}
            for number in range(1, options.rounds + 1):
                base_rps, base_p99 = measure(port, BASELINE_PATH, phases["password"], token,
                                             clients, options.seconds)
                line = f"round {number}: token-only {base_rps:7.0f} req/s, p99 {base_p99:6.1f} ms"
                for name, bodies in phases.items():
                    api_rps, api_p99 = measure(port, API, bodies, token, clients, options.seconds)
                    throughput[name].append(api_rps / base_rps)
                    latency[name].append(api_p99 / base_p99)
                    line += (f" | {name} {api_rps:7.0f} req/s, p99 {api_p99:6.1f} ms"
                             f" ({api_rps / base_rps:.2f}x)")
                print(line)
        finally:
            stop(server)
            token_registry.shutdown()
        timed_exchanges = _TokenRegistry.exchanges - warm_exchanges
        for name in phases:
            ratio = statistics.median(throughput[name])
            verdict = "meets" if ratio >= 0.5 else "MISSES"
            print(f"median: runner API ({name}) serves {ratio:.2f}x the token-only route's "
                  f"requests per second ({verdict} the >= 0.5x target); its p99 is "
                  f"{statistics.median(latency[name]):.2f}x")
        print(f"token exchanges: {warm_exchanges} during the warm-up, {timed_exchanges} while "
              "timed (all timed pull_token answers came from the cache)" if not timed_exchanges
              else f"token exchanges while timed: {timed_exchanges} (not all from the cache)")


if __name__ == "__main__":
    main()
