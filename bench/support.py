"""Support console benchmark: the filtered registry list across 10,000 registries in 100 orgs,
as a ratio to one org's registry page with 50 registries, in the same gunicorn.

    PYTHONPATH=. .venv/bin/python bench/support.py [--duration 10] [--connections 8]
        [--threads 2] [--rounds 2] [--database-url URL] [--check]

Target (issue 15): the filtered list serves >= 0.5x the requests per second of the org's
registry page; its query count is the same at 10 and at 10,000 registries. Seeded through the
real services (secrets sealed to their rows): 100 Enterprise orgs of 100 active registries
each (mixed types, one in ten failing, some for more than a day), one more org with 50
registries and its admin, and a support user. The product (bench.pages:server_app(), no
scheduler: nothing is ever checked) runs under `gunicorn --worker-class sync --workers 2` on
127.0.0.1; wrk drives one URL at a time, the baseline before and after each support URL, and
each ratio is to the mean of the two baselines around it. Rate limits are OFF. Also prints the
gunicorn workers' CPU per request (less moved by other processes on a shared machine) and the
list's SQL statements at 10 and at 10,000 registries (a second, 10-registry database).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.pages import (
    CSRF_INPUT,
    GUNICORN,
    KINDS,
    PASSWORD,
    WRK_SCRIPT,
    Load,
    Page,
    Server,
    check,
    sign_in,
)
from bench.serving import app_config, free_port, server_environment, start_gunicorn, stop
from tests.support.factories import registry_row
from tests.support.queries import queries_of_get
from webapp import create_app
from webapp.extensions import db
from webapp.models import utcnow
from webapp.services import accounts

ORGS, PER_ORG, BASELINE_ROWS = 100, 100, 50
FILTERED = "/support/?status=failing&plan=enterprise"
SEARCH = "/support/?q=puller-42"
SUPPORT_ROW = '<tr id="support-registry-'


def add_registries(org_id: int, count: int, failing_every: int = 10) -> None:
    now = utcnow()
    for index in range(count):
        kind, address = KINDS[index % len(KINDS)]
        host, namespace = address(index)
        registry = registry_row(
            org_id, secret=f"secret-{index}", kind=kind, name=f"Registry {index:03d}",
            host=host, namespace=namespace, username=f"puller-{index}", status="connected",
            commit=False,
        )
        registry.last_checked_at = registry.last_success_at = now - timedelta(minutes=5)
        registry.created_at = now - timedelta(minutes=index)
        if failing_every and index % failing_every == 1:
            registry.status, registry.status_reason = "auth_failed", "401 from the registry"
            registry.last_success_at = now - timedelta(days=index % 3)


def seed(orgs: int, per_org: int) -> dict[str, str]:
    prefix = f"bench-{secrets.token_hex(3)}"
    for number in range(orgs):
        org = accounts.create_org(f"{prefix}-{number:03d}", f"Customer {number:03d}", "enterprise")
        db.session.flush()
        add_registries(org.id, per_org)
        db.session.commit()
    base = accounts.create_org(f"{prefix}-base", "Baseline", "enterprise")
    admin = f"admin@{prefix}.example"
    accounts.create_user(admin, PASSWORD, org=base, role="admin")
    db.session.flush()
    add_registries(base.id, BASELINE_ROWS, failing_every=0)
    support = f"help@{prefix}.example"
    accounts.create_user(support, PASSWORD, support=True)
    db.session.commit()
    return {"admin": admin, "support": support, "base": base.slug}


def signed_in_client(app, email: str):
    client = app.test_client()
    token = CSRF_INPUT.search(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": email, "password": PASSWORD,
                                "csrf_token": token.group(1) if token else ""})
    return client


def list_queries(database_url: str, orgs: int, per_org: int) -> int:
    """SQL statements of one filtered-list request at this many registries."""
    server_environment(database_url)
    app = create_app(app_config())
    with app.app_context():
        db.create_all()
        who = seed(orgs, per_org)
    client = signed_in_client(app, who["support"])
    queries_of_get(client, FILTERED)
    count = len(queries_of_get(client, FILTERED))
    with app.app_context():
        db.engine.dispose()
    return count


def rows(expected_min: int):
    def expect(body: str) -> str | None:
        found = body.count(SUPPORT_ROW) or body.count('<tr id="registry-')
        return None if found >= expected_min else f"{found} rows, expected >= {expected_min}"
    return expect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--check", action="store_true", help="seed, serve, check; no wrk")
    parser.add_argument("--orgs", type=int, default=ORGS, help=f"orgs to seed ({ORGS})")
    parser.add_argument("--per-org", type=int, default=PER_ORG,
                        help=f"registries per org ({PER_ORG})")
    options = parser.parse_args()
    if shutil.which("wrk") is None and not options.check:
        raise SystemExit("wrk is not installed: `apt-get install wrk`; --check runs without it")
    with tempfile.TemporaryDirectory(prefix="bench-support-") as scratch:
        small = list_queries(f"sqlite:///{Path(scratch) / 'small.db'}", 1, 10)
        env = server_environment(options.database_url or f"sqlite:///{Path(scratch) / 'big.db'}")
        app = create_app(app_config())
        with app.app_context():
            db.create_all()
            started = time.monotonic()
            who = seed(options.orgs, options.per_org)
            print(f"seeded {options.orgs} orgs x {options.per_org} registries (+ {BASELINE_ROWS} in the baseline "
                  f"org) in {time.monotonic() - started:.0f} s; database "
                  f"{env['BENCH_DATABASE_URL'].split(':', 1)[0]}; {os.cpu_count()} CPU cores")
        client = signed_in_client(app, who["support"])
        queries_of_get(client, FILTERED)
        large = len(queries_of_get(client, FILTERED))
        verdict = "PASS" if large == small else "FAIL"
        print(f"filtered list SQL statements: {small} at 10 registries, {large} at "
              f"{options.orgs * options.per_org:,}: {verdict}")
        with app.app_context():
            db.engine.dispose()
        port = free_port()
        server = Server(port, start_gunicorn("bench.pages:server_app()", port, GUNICORN, env))
        try:
            admin_cookie = sign_in(port, who["admin"])
            support_cookie = sign_in(port, who["support"])
            baseline = Page("org registry page, 50 rows",
                            f"/orgs/{who['base']}/settings/infrastructure/container-registry/",
                            rows(BASELINE_ROWS))
            # At the default size: 50 rows each (a full page); a smaller seed fills less.
            full = options.orgs * options.per_org >= ORGS * PER_ORG
            pages = [Page("support list, status=failing", FILTERED, rows(50 if full else 1)),
                     Page("support search, q=puller-42", SEARCH, rows(50 if full else 0))]
            check(port, baseline, admin_cookie)
            for page in pages:
                check(port, page, support_cookie)
            print("every URL answers 200 with its rows; rate limits OFF (RATELIMIT_ENABLED=False)")
            if options.check:
                return
            script = Path(scratch) / "count.lua"
            script.write_text(WRK_SCRIPT)
            load = Load(options.duration, options.connections, options.threads, script)
            ratios: dict[str, list[tuple[float, float]]] = {page.label: [] for page in pages}
            for number in range(options.rounds):
                before = load.run(server, baseline, admin_cookie)
                for page in pages:
                    measured = load.run(server, page, support_cookie)
                    after = load.run(server, baseline, admin_cookie)
                    rate = measured.rate / ((before.rate + after.rate) / 2)
                    cpu = ((before.cpu + after.cpu) / 2) / measured.cpu
                    ratios[page.label].append((rate, cpu))
                    print(f"  round {number + 1}: {page.label}: {measured.rate:.0f} req/s vs "
                          f"baseline {before.rate:.0f}/{after.rate:.0f}: {rate:.2f}x "
                          f"(CPU per request: {cpu:.2f}x)")
                    before = after
                    sys.stdout.flush()
            for label, values in ratios.items():
                rate = statistics.median(v[0] for v in values)
                cpu = statistics.median(v[1] for v in values)
                verdict = "PASS" if rate >= 0.5 and cpu >= 0.5 else (
                    "FAIL" if rate < 0.5 and cpu < 0.5 else "UNCLEAR")
                print(f"{label}: {rate:.2f}x the org registry page's requests per second "
                      f"(by CPU per request {cpu:.2f}x); target >= 0.5x: {verdict}")
        finally:
            stop(server.process)


if __name__ == "__main__":
    main()
