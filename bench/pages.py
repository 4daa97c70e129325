"""Page benchmark: the signed-in registry page at 0, 20 and 100 rows, wizard step 2 and the
rename fragment, against a bare Flask "hello" app under the same gunicorn command.

    PYTHONPATH=. .venv/bin/python bench/pages.py [--duration 10] [--connections 16]
        [--threads 2] [--rounds 3] [--database-url URL] [--check] [--profile N]

design.md's targets: the registry page of an org with no registries serves >= 0.3x the hello
app's requests per second; each registry row adds <= 2% to that page's time; wizard step 2 and
the rename fragment are at least as fast as the empty page; no page's query count grows with its
rows. The product (`server_app`: `create_app` with this script's settings and no scheduler, so
nothing is ever checked) and the hello app (bench/hello.py) each run under `gunicorn
--worker-class sync --workers 2` on a free 127.0.0.1 port; `wrk -t2 -c16 -d10s` drives one URL
at a time, hello and the product in turn (hello, page 1, hello, page 2, ..., hello), and each
page's ratio is to the mean of the hello runs just before and after it, so drift on a noisy
machine hits both. The per-row cost is (t100 - t0) / 100 / t0, t being a page's time per
request in units of hello's (1 / its ratio), so drift cancels. Each run also records the gunicorn
workers' CPU per request, which other processes on a shared machine hardly move: the figures are
printed from both, and a target on which they disagree is UNCLEAR. Rate limits are OFF
(RATELIMIT_ENABLED=False) so that pages are measured, not the limiter.

The script signs in like a browser: GET /login for the session cookie and the form's CSRF
token, then POST it back with the cookie and a same-origin Referer (the strict Referer check
applies to https only; the product is plain http on loopback here). The session is permanent
with a 30-minute idle timeout, renewed by a response once the cookie is a minute old
(SESSION_RENEW_AFTER, webapp/sessions.py), but wrk keeps sending the cookie it was given (and
an old one is renewed on every response), so the script signs in afresh before every round and
every page's run, and checks every URL again: each must answer 200 with its content (a redirect to /login is not a
page). A wrk Lua script counts every response's status and any that is not 200 stops the run.

Seeded (sealed secrets through the real services): Enterprise orgs with 0, 10, 20 and 100
active, connected registries (mixed types) and one admin who belongs to all of them. The list
shows 50 rows a page (webapp/paging.py), so the 100-row org's page shows 50 and the per-row
cost divides by the rows shown. The
database is a temporary SQLite file unless --database-url names another (PostgreSQL: tables
are created if missing, the script's orgs get a random prefix so it can run again).

--check seeds, starts both servers, signs in and checks every URL, prints the query counts and
stops: no wrk. --profile N times every page in process (Flask's test client, no server), then
runs N requests of each (N/10 at 100 rows) under cProfile and prints where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import http.client
import os
import pstats
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask
from sqlalchemy import text

from bench import hello
from bench.serving import app_config, free_port, server_environment, start_gunicorn, stop
from tests.support.factories import registry_row
from tests.support.queries import queries_of_get
from webapp import create_app
from webapp.extensions import db
from webapp.models import Membership, Registry, User, utcnow
from webapp.paging import PAGE_SIZE
from webapp.services import accounts, registries

TIMED_ROWS = (0, 20, 100)
COUNTED_ROWS = (10, 100)  # the query count at these two sizes must be equal
GUNICORN = ("--worker-class", "sync", "--workers", "2")
USER_AGENT = "bench-pages"  # the same on sign-in and in wrk: Flask-Login hashes it into the session
PASSWORD = "bench-password-not-secret"
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
REGISTRY_ROW = '<tr id="registry-'
WRK_SCRIPT = """
-- Counts every response's status across wrk's threads (each thread has its own Lua state).
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) seen = 0; bad = 0; last_bad = 0 end
function response(status, headers, body)
  seen = seen + 1
  if status ~= 200 then bad = bad + 1; last_bad = status end
end
function done(summary, latency, requests)
  local total_seen, total_bad, last = 0, 0, 0
  for _, thread in ipairs(threads) do
    total_seen = total_seen + thread:get("seen")
    total_bad = total_bad + thread:get("bad")
    if thread:get("last_bad") ~= 0 then last = thread:get("last_bad") end
  end
  io.write(string.format("statuses: %d seen, %d not 200, last %d\\n", total_seen, total_bad, last))
end
"""


def server_app() -> Flask:
    """What gunicorn serves: the product exactly as create_app builds it (no scheduler)."""
    return create_app(app_config())


# --- seeding ----------------------------------------------------------------------------------


@dataclass
class Seeded:
    email: str
    slugs: dict[int, str]  # rows -> org slug
    rename_id: uuid.UUID  # a registry of the 20-row org


KINDS = (
    ("docker_registry", lambda n: (f"registry-{n}.corp.example:5000", "apps")),
    ("docker_hub", lambda n: ("docker.io", f"team-{n}")),
    ("github", lambda n: ("ghcr.io", f"org-{n}")),
)


def add_registries(org, count: int) -> list[Registry]:
    """`count` active, connected registries of mixed types, checked a few minutes ago."""
    now = utcnow()
    rows = []
    for index in range(count):
        kind, address = KINDS[index % len(KINDS)]
        host, namespace = address(index)
        registry = registry_row(
            org.id, secret=f"secret-{index}", kind=kind, name=f"Registry {index:03d}",
            host=host, namespace=namespace, username=f"puller-{index}", status="connected",
            commit=False,
        )
        registry.last_checked_at = registry.last_success_at = now - timedelta(minutes=5)
        registry.next_check_at = now + timedelta(days=1)
        rows.append(registry)
    return rows


def seed() -> Seeded:
    """Orgs with 0, 10, 20 and 100 registries and one admin of them all. In an app context."""
    prefix = f"bench-{secrets.token_hex(3)}"
    email = f"admin@{prefix}.example"
    slugs: dict[int, str] = {}
    admin = None
    rename_id = None
    for rows in sorted({*TIMED_ROWS, *COUNTED_ROWS}):
        org = accounts.create_org(f"{prefix}-{rows}", f"Bench {rows} rows", "enterprise")
        if admin is None:
            admin = accounts.create_user(email, PASSWORD, org=org, role="admin")
        else:
            db.session.add(Membership(user=admin, org=org, role="admin"))
        db.session.flush()
        added = add_registries(org, rows)
        if rows == 20:
            rename_id = added[0].id
        slugs[rows] = org.slug
    db.session.commit()
    return Seeded(email, slugs, rename_id)


# --- the URLs and what each must answer -------------------------------------------------------


@dataclass(frozen=True)
class Page:
    label: str
    path: str
    expect: Callable[[str], str | None]  # the body -> what is wrong with it, or None
    headers: dict[str, str] = field(default_factory=dict)


def shown(rows: int) -> int:
    """How many rows the registry page shows of an org with `rows`: the first page's."""
    return min(rows, PAGE_SIZE)


def registry_page(rows: int, email: str) -> Callable[[str], str | None]:
    def expect(body: str) -> str | None:
        if email not in body:
            return "the page does not name the signed-in admin"
        found = body.count(REGISTRY_ROW)
        if found != shown(rows):
            return f"{found} registry rows instead of {shown(rows)}"
        if rows == 0 and "No registries connected yet" not in body:
            return "no empty state"
        return None

    return expect


def contains(*needles: str, fragment: bool = False) -> Callable[[str], str | None]:
    def expect(body: str) -> str | None:
        missing = [needle for needle in needles if needle not in body]
        if missing:
            return f"{missing[0]!r} is not in the answer"
        if fragment and "<html" in body:
            return "a whole page instead of a fragment"
        return None

    return expect


def registry_url(slug: str, tail: str = "") -> str:
    return f"/orgs/{slug}/settings/infrastructure/container-registry/{tail}"


def product_pages(seeded: Seeded) -> list[Page]:
    empty, rows20 = seeded.slugs[0], seeded.slugs[20]
    return [
        Page("registry page, empty", registry_url(empty), registry_page(0, seeded.email)),
        Page("registry page, 20 rows", registry_url(rows20), registry_page(20, seeded.email)),
        Page("registry page, 100 rows", registry_url(seeded.slugs[100]),
             registry_page(100, seeded.email)),
        Page("wizard step 2", registry_url(empty, "new/docker_registry"),
             contains('id="settings-form"', 'name="registry_url"', 'name="password"',
                      seeded.email)),
        Page("rename fragment", registry_url(rows20, f"{seeded.rename_id}/rename"),
             contains('class="inline-edit"', 'value="Registry 000"', 'name="csrf_token"',
                      fragment=True),
             {"HX-Request": "true"}),
    ]


HELLO = Page("hello", "/", lambda body: None if body == hello.BODY else "not the hello body")


# --- talking to the servers -------------------------------------------------------------------


def request(port: int, method: str, path: str, headers: dict[str, str],
            body: bytes | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(method, path, body=body, headers={"User-Agent": USER_AGENT, **headers})
    response = connection.getresponse()
    response.data = response.read()  # type: ignore[attr-defined]
    connection.close()
    return response


def session_cookie(response: http.client.HTTPResponse) -> str:
    for header in response.headers.get_all("Set-Cookie") or []:
        pair = header.split(";", 1)[0]
        if pair.startswith("session="):
            return pair
    raise SystemExit(f"no session cookie in the answer to {response.status}")


def sign_in(port: int, email: str) -> str:
    """Sign in like a browser; returns the `session=…` cookie the GETs send."""
    login = request(port, "GET", "/login", {})
    cookie = session_cookie(login)
    token = CSRF_INPUT.search(login.data.decode())
    if login.status != 200 or token is None:
        raise SystemExit(f"GET /login answered {login.status} without a CSRF token")
    form = urlencode({"email": email, "password": PASSWORD, "csrf_token": token.group(1)})
    answer = request(port, "POST", "/login", {
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded",
        "Referer": f"http://127.0.0.1:{port}/login", "Origin": f"http://127.0.0.1:{port}",
    }, form.encode())
    if answer.status != 302 or "/login" in answer.headers.get("Location", "/login"):
        raise SystemExit(f"sign-in failed: POST /login answered {answer.status}")
    cookie = session_cookie(answer)
    # Then the page it lands on, as a browser does: that page signs the session's CSRF token
    # (a changed session), and the cookie it sends back is the one every later page gets.
    landing = request(port, "GET", answer.headers["Location"], {"Cookie": cookie})
    try:
        return session_cookie(landing)
    except SystemExit:
        return cookie


def check(port: int, page: Page, cookie: str | None) -> bytes:
    """The page's body, after making sure it is the page: 200 and the expected content."""
    headers = dict(page.headers, **({"Cookie": cookie} if cookie else {}))
    response = request(port, "GET", page.path, headers)
    if response.status != 200:
        where = response.headers.get("Location")
        raise SystemExit(f"{page.label}: GET {page.path} answered {response.status}"
                         + (f" (to {where})" if where else ""))
    problem = page.expect(response.data.decode())
    if problem:
        raise SystemExit(f"{page.label}: GET {page.path}: {problem}")
    if cookie and response.headers.get("Set-Cookie"):
        # A fresh cookie changes nothing here: the page wrote the session (or renewed it).
        raise SystemExit(f"{page.label}: GET {page.path} sent Set-Cookie with a fresh session")
    return response.data


def size(body: bytes) -> str:
    def amount(count: int) -> str:
        return f"{count / 1024:5.1f} KB" if count >= 1024 else f"{count:4d} B "

    return f"HTML {amount(len(body))} ({amount(len(gzip.compress(body)))} gzipped)"


@dataclass(frozen=True)
class Server:
    port: int
    process: subprocess.Popen

    def worker_cpu(self) -> float:
        """CPU seconds (user + system) its gunicorn workers have used so far (Linux /proc)."""
        ticks = 0
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()  # from field 3, the state, on
            if int(fields[1]) == self.process.pid:  # ppid
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Phase:
    rate: float  # requests per second, as wrk counts them
    cpu: float  # the server's CPU seconds per request: what other processes steal hardly moves it


@dataclass(frozen=True)
class Load:
    duration: float
    connections: int
    threads: int
    script: Path

    def command(self, port: int, page: Page, cookie: str | None, duration: float) -> list[str]:
        headers = dict(page.headers, **{"User-Agent": USER_AGENT})
        if cookie:
            headers["Cookie"] = cookie
        command = [
            "wrk", f"-t{self.threads}", f"-c{self.connections}", f"-d{duration:g}s",
            "--timeout", "30s", "-s", str(self.script),
        ]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        return [*command, f"http://127.0.0.1:{port}{page.path}"]

    def run(self, server: Server, page: Page, cookie: str | None,
            duration: float | None = None) -> Phase:
        """One wrk run; stops the benchmark if any answer was not 200."""
        command = self.command(server.port, page, cookie, duration or self.duration)
        cpu_before = server.worker_cpu()
        output = subprocess.run(  # noqa: S603 - our own arguments
            command, capture_output=True, text=True, check=True, timeout=600,
        ).stdout
        cpu = server.worker_cpu() - cpu_before
        rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
        statuses = re.search(r"statuses: (\d+) seen, (\d+) not 200, last (\d+)", output)
        if rate is None or statuses is None:
            raise SystemExit(f"{page.label}: cannot read wrk's output:\n{output}")
        seen, bad, last = (int(part) for part in statuses.groups())
        if bad or not seen:
            raise SystemExit(f"{page.label}: {bad} of {seen} answers were not 200 (e.g. {last})")
        errors = re.search(r"Socket errors: .*", output)
        if errors:
            print(f"  note: {page.label}: wrk {errors.group(0)}")
        return Phase(float(rate.group(1)), cpu / seen)


# --- in-process: query counts and the profile -------------------------------------------------


def signed_in_client(app: Flask, email: str):
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    token = CSRF_INPUT.search(login)
    answer = client.post("/login", data={
        "email": email, "password": PASSWORD, "csrf_token": token.group(1) if token else "",
    })
    if answer.status_code != 302:
        raise SystemExit(f"in-process sign-in failed: {answer.status_code}")
    return client


def query_counts(app: Flask, seeded: Seeded) -> dict[str, int]:
    """SQL statements of one request of each page (after one warm-up request)."""
    client = signed_in_client(app, seeded.email)
    paths = {f"registry page, {rows} rows": (registry_url(seeded.slugs[rows]), {})
             for rows in sorted({*TIMED_ROWS, *COUNTED_ROWS})}
    paths.update({page.label: (page.path, page.headers)
                  for page in product_pages(seeded) if not page.label.startswith("registry")})
    counts = {}
    for label, (path, headers) in paths.items():
        queries_of_get(client, path, headers=headers)
        counts[label] = len(queries_of_get(client, path, headers=headers))
    return counts


def print_query_counts(counts: dict[str, int]) -> None:
    low, high = (counts[f"registry page, {rows} rows"] for rows in COUNTED_ROWS)
    verdict = "does not grow" if high <= low else "GROWS"
    print(f"SQL statements per request: registry page at {COUNTED_ROWS[0]} rows {low}, at "
          f"{COUNTED_ROWS[1]} rows {high} ({verdict} with its rows; target: it does not)")
    print("  " + ", ".join(f"{label} {count}" for label, count in counts.items()))


# Functions whose cumulative time the profile reports; a row's indentation says it is part of
# the row above. (file suffix, function name, what it is)
PROFILE_ROWS = (
    ("flask/app.py", "wsgi_app", "the app (Flask's wsgi_app)"),
    ("flask/sessions.py", "open_session", "  session cookie: verify signature, decode"),
    ("flask/app.py", "preprocess_request", "  before_request hooks"),
    ("webapp/request_hooks.py", "_start_request", "    request id, NUL scan"),
    ("webapp/auth/views.py", "_absolute_session_limit", "    absolute session limit"),
    ("flask_wtf/csrf.py", "csrf_protect", "    CSRF hook (GET: nothing to check)"),
    ("webapp/access.py", "_load_org", "    the org and membership, and the user's load"),
    ("flask_login/login_manager.py", "_load_user",
     "      Flask-Login: the user, memberships and orgs (1 query)"),
    ("webapp/gating.py", "require_enterprise", "    Enterprise gate"),
    ("flask/app.py", "dispatch_request", "  the view"),
    ("webapp/services/registries.py", "listing", "    the registry list query (1 Core select)"),
    ("webapp/services/registries.py", "get", "    the registry query"),
    ("wtforms/form.py", "__call__", "    WTForms: build the form"),
    ("webapp/services/registries.py", "draft_token", "    the draft token"),
    ("flask/templating.py", "render_template", "    render_template"),
    ("webapp/access.py", "_org_context", "      context processor (org, admin, lazy lists)"),
    ("webapp/access.py", "_list", "      the shell's lazy lists (orgs: no query; failing alerts)"),
    ("flask_wtf/csrf.py", "generate_csrf", "      csrf_token()"),
    ("flask/app.py", "url_for", "      url_for"),
    ("templates/_macros/menu.html", "macro", "      action menus"),
    ("templates/registries/_rows.html", "root", "      the rows (registries/_rows.html)"),
    ("webapp/field_markup.py", "render_field", "      form fields (webapp/field_markup.py)"),
    ("webapp/field_markup.py", "form_errors", "      form errors banner"),
    ("webapp/registry_client/statuses.py", "describe", "      describe_status"),
    ("flask/app.py", "process_response", "  after_request hooks and the session's save"),
    ("webapp/security.py", "_headers", "    security headers"),
    ("flask/sessions.py", "save_session",
     "    session cookie: re-sign, Set-Cookie (changed, or renewal due)"),
    ("flask_sqlalchemy/extension.py", "_teardown_session", "  teardown: end the db session"),
    ("sqlalchemy/orm/session.py", "_execute_internal", "all ORM statements (inside the rows above)"),
)


def profile(app: Flask, seeded: Seeded, count: int) -> None:
    client = signed_in_client(app, seeded.email)
    pages = product_pages(seeded)
    empty = pages[0].path
    for _ in range(20):  # templates compiled, caches warm
        for page in pages:
            check_in_process(client, page.path, page.headers)
    print(f"in-process, through Flask's test client, rate limits OFF, no profiler, best of 5 "
          f"batches of {count // 5} requests (of {count // 50} for 100 rows):")
    hello_client = hello.app.test_client()
    works: dict[str, tuple[Callable[[], object], int]] = {
        "hello": (lambda: hello_client.get("/"), count),
    }
    for page in pages:
        works[page.label] = (
            lambda page=page: check_in_process(client, page.path, page.headers),
            count // 10 if "100" in page.label else count,
        )
    times = timed_together(works)
    base = times.pop("hello")
    print(f"  {'hello':<24} {base * 1e6:8,.0f} us per request")
    for label, seconds in times.items():
        print(f"  {label:<24} {seconds * 1e6:8,.0f} us per request = {base / seconds:.3f}x hello")
    empty_time = times[pages[0].label]
    per_row = (times[pages[2].label] - empty_time) / shown(100)
    print(f"  each row {per_row * 1e6:,.0f} us = {per_row / empty_time:.1%} of the empty page "
          f"(0 and 100 rows, {shown(100)} shown); "
          f"wizard step 2 {empty_time / times['wizard step 2']:.2f}x and the rename fragment "
          f"{empty_time / times['rename fragment']:.2f}x the empty page's speed")
    print(f"  the empty page's queries: {query_summary(queries_of_get(client, empty))}")
    costs = query_costs(app, seeded)
    sql = costs.pop("all")
    print(f"  those queries replayed alone with a fresh db session, as a request does: "
          f"{sql * 1e6:,.0f} us = {sql / empty_time:.0%} of the page; each (warm session): "
          + ", ".join(f"{label} {cost * 1e6:,.0f} us" for label, cost in costs.items()))
    cookie = cookie_round_trip(app, client)
    print(f"  the session cookie's decode + re-sign (when renewed): {cookie * 1e6:,.0f} us = "
          f"{cookie / empty_time:.0%}")
    for page in pages:
        if page.label != "registry page, 20 rows":
            profiled(client, page, count // 10 if "100" in page.label else count)
    # Last: a second app re-binds the one shared Limiter object (extensions.limiter).
    limited_client = signed_in_client(
        create_app({**app_config(), "RATELIMIT_ENABLED": True}), seeded.email
    )
    # The first app registered no limiter hooks, so it keeps measuring the page without them.
    limits = timed_together({
        "off": (lambda: check_in_process(client, empty), count),
        "on": (lambda: check_in_process(limited_client, empty), count),
    })
    print(f"\nthe empty page with RATELIMIT_ENABLED=True (memory storage), no profiler: "
          f"{limits['on'] * 1e6:,.0f} us per request against {limits['off'] * 1e6:,.0f} us off "
          f"({(limits['on'] - limits['off']) * 1e6:+,.0f} us)")


def query_costs(app: Flask, seeded: Seeded) -> dict[str, float]:
    """Seconds per call of each of the empty page's two queries (same services, warm session), of
    a fresh db session (pool checkout, BEGIN, rollback on return), and of them all together
    with a fresh session each time, as every request does; no profiler."""
    with app.app_context():
        user_id = accounts.find_user(seeded.email).id
        org = accounts.find_org(seeded.slugs[0])
        queries: dict[str, Callable[[], object]] = {
            "user with memberships and orgs": lambda: db.session.get(
                User, user_id, options=accounts.WITH_MEMBERSHIPS, populate_existing=True),
            "registry list (page 1) with the banner's alerts": lambda: registries.listing(
                org, "", 1, with_alerts=True),
        }
        costs = {label: timed(query, 500) for label, query in queries.items()}

        def fresh_session() -> None:
            db.session.remove()
            db.session.execute(text("SELECT 1")).all()

        costs["fresh db session + SELECT 1"] = timed(fresh_session, 500)

        def replay() -> None:
            db.session.remove()
            for query in queries.values():
                query()

        costs["all"] = timed(replay, 500)
        db.session.remove()
        return costs


def cookie_round_trip(app: Flask, client) -> float:
    """Seconds to verify and decode the session cookie, then sign it again, as Flask's cookie
    session does on a request that renews it (webapp/sessions.py: a changed session, or one
    issued SESSION_RENEW_AFTER ago; others only decode)."""
    interface = app.session_interface
    value = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    lifetime = int(app.permanent_session_lifetime.total_seconds())

    def round_trip() -> None:
        data = interface.get_signing_serializer(app).loads(value, max_age=lifetime)
        interface.get_signing_serializer(app).dumps(dict(data))

    return timed(round_trip, 2000)


def query_summary(statements: list[str]) -> str:
    tables = [re.search(r"\bFROM (\w+)", statement) for statement in statements]
    return f"{len(statements)}: " + ", ".join(
        match.group(1) if match else statement.split()[0] for match, statement
        in zip(tables, statements, strict=True)
    )


def profiled(client, page: Page, count: int) -> None:
    """Cumulative time per request of PROFILE_ROWS, then the top functions by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        check_in_process(client, page.path, page.headers)
    profiler.disable()
    table = pstats.Stats(profiler).stats  # type: ignore[attr-defined]

    def cumulative(suffix: str, name: str) -> tuple[float, float]:
        calls = total = 0.0
        for (filename, _, function), (_, ncalls, _, cumtime, _) in table.items():
            if function == name and filename.replace("\\", "/").endswith(suffix):
                calls += ncalls
                total += cumtime
        return calls / count, total / count

    _, app_time = cumulative("flask/app.py", "wsgi_app")
    print(f"\n{page.label} under cProfile (which inflates call-heavy code such as templates), "
          f"{count} requests: {app_time * 1e6:,.0f} us of app time per request; cumulative time, "
          f"share, calls per request:")
    for suffix, name, label in PROFILE_ROWS:
        calls, spent = cumulative(suffix, name)
        if calls:
            print(f"  {label:<58} {spent * 1e6:8,.0f} us {spent / app_time:6.1%}  x{calls:g}")
    print("  top 10 functions by own time:")
    entries = sorted(table.items(), key=lambda item: item[1][2], reverse=True)[:10]
    for (filename, line, function), (_, ncalls, tottime, _, _) in entries:
        where = "/".join(Path(filename).parts[-2:])
        print(f"    {tottime / count * 1e6:8,.1f} us  x{ncalls / count:<6g} {function} "
              f"({where}:{line})")


def check_in_process(client, path: str, headers: dict[str, str] | None = None) -> None:
    response = client.get(path, headers=headers)
    if response.status_code != 200:
        raise SystemExit(f"GET {path} answered {response.status_code} in process")


def timed(work: Callable[[], object], count: int, batches: int = 5) -> float:
    """Seconds per call: the best of `batches` batches (as timeit does), since other processes
    on a shared machine only ever add time."""
    size = max(count // batches, 1)
    best = float("inf")
    for _ in range(batches):
        started = time.perf_counter()
        for _ in range(size):
            work()
        best = min(best, (time.perf_counter() - started) / size)
    return best


def timed_together(works: dict[str, tuple[Callable[[], object], int]],
                   batches: int = 5) -> dict[str, float]:
    """Seconds per call of each work, the best of its batches, the batches taken in turn
    (a batch of each, then again) so that a busy spell on the machine hits them all."""
    best = dict.fromkeys(works, float("inf"))
    for _ in range(batches):
        for label, (work, count) in works.items():
            size = max(count // batches, 1)
            started = time.perf_counter()
            for _ in range(size):
                work()
            best[label] = min(best[label], (time.perf_counter() - started) / size)
    return best


# --- the run ----------------------------------------------------------------------------------


def spread(values: list[float], form: str) -> str:
    median = statistics.median(values)
    if len(values) == 1:
        return format(median, form)
    return f"{median:{form}} ({min(values):{form}}-{max(values):{form}})"


def load_average() -> str:
    return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


@dataclass
class Figures:
    """One page's figures, one entry per round."""

    rate: list[float] = field(default_factory=list)
    ratio: list[float] = field(default_factory=list)  # to the mean of the hello runs around it
    cpu: list[float] = field(default_factory=list)  # seconds per request
    cpu_ratio: list[float] = field(default_factory=list)  # hello's CPU per request / the page's


def benchmark(load: Load, rounds: int, servers: dict[str, Server], seeded: Seeded) -> None:
    pages = product_pages(seeded)
    product, bare = servers["product"], servers["hello"]
    figures = {page.label: Figures() for page in pages}
    hellos: list[Phase] = []
    cookie = sign_in(product.port, seeded.email)
    for page in [HELLO, *pages]:  # warm up every worker's templates and caches
        load.run(bare if page is HELLO else product, page, None if page is HELLO else cookie, 2)
    for number in range(1, rounds + 1):
        print(f"round {number} ({load_average()}):")
        cookie = sign_in(product.port, seeded.email)
        for page in pages:
            check(product.port, page, cookie)
        before = load.run(bare, HELLO, None)
        hellos.append(before)
        print(f"  {'hello':<24} {before.rate:7.0f} req/s {before.cpu * 1e6:8,.0f} us CPU")
        for page in pages:
            # A fresh cookie for each run: wrk never takes the renewed one a browser would,
            # and a cookie older than SESSION_RENEW_AFTER is renewed on every response.
            cookie = sign_in(product.port, seeded.email)
            phase = load.run(product, page, cookie)
            after = load.run(bare, HELLO, None)
            hellos.append(after)
            mine = figures[page.label]
            mine.rate.append(phase.rate)
            mine.ratio.append(phase.rate / ((before.rate + after.rate) / 2))
            mine.cpu.append(phase.cpu)
            mine.cpu_ratio.append((before.cpu + after.cpu) / 2 / phase.cpu)
            print(f"  {page.label:<24} {phase.rate:7.0f} req/s {phase.cpu * 1e6:8,.0f} us CPU"
                  f" = {mine.ratio[-1]:.3f}x hello ({mine.cpu_ratio[-1]:.3f}x by CPU);"
                  f" hello after it {after.rate:.0f} req/s")
            before = after
    summarise(figures, hellos, rounds)


def per_row(figures: dict[str, Figures], rows: int, by_cpu: bool) -> list[float]:
    """(t_rows - t0) / rows / t0 per round, t in units of hello's time (1 / ratio) so drift
    between the runs cancels, or the server's CPU per request."""
    empty, full = figures["registry page, empty"], figures[f"registry page, {rows} rows"]
    if by_cpu:
        pairs = zip(empty.cpu, full.cpu, strict=True)
    else:
        pairs = ((1 / zero, 1 / many) for zero, many in zip(empty.ratio, full.ratio, strict=True))
    return [100 * (many - zero) / shown(rows) / zero for zero, many in pairs]


def summarise(figures: dict[str, Figures], hellos: list[Phase], rounds: int) -> None:
    print(f"\nmedian over {rounds} rounds (min-max), {load_average()} at the end:")
    print(f"  {'':<24} {'req/s':>16} {'x hello (target figure)':>27} {'server CPU us/req':>22}"
          f" {'x hello by CPU':>20}")
    print(f"  {'hello (every run)':<24} {spread([h.rate for h in hellos], '.0f'):>16} "
          f"{'':>27} {spread([h.cpu * 1e6 for h in hellos], ',.0f'):>22}")
    for label, mine in figures.items():
        print(f"  {label:<24} {spread(mine.rate, '.0f'):>16} {spread(mine.ratio, '.3f'):>27} "
              f"{spread([c * 1e6 for c in mine.cpu], ',.0f'):>22} "
              f"{spread(mine.cpu_ratio, '.3f'):>20}")
    empty = figures["registry page, empty"]
    ratio, by_cpu = statistics.median(empty.ratio), statistics.median(empty.cpu_ratio)
    print(f"target: the empty registry page >= 0.3x hello: {verdict(ratio >= 0.3, by_cpu >= 0.3)}"
          f" ({ratio:.3f}x; by server CPU {by_cpu:.3f}x)")
    row, row_cpu = per_row(figures, 100, by_cpu=False), per_row(figures, 100, by_cpu=True)
    ok = verdict(statistics.median(row) <= 2, statistics.median(row_cpu) <= 2)
    print(f"target: each row <= 2% of the empty page's time: {ok} ({spread(row, '.1f')}% "
          f"from 0 and 100 rows ({shown(100)} shown, a page); from 0 and 20 rows "
          f"{spread(per_row(figures, 20, False), '.1f')}%; by server CPU {spread(row_cpu, '.1f')}%"
          f", {spread(per_row(figures, 20, True), '.1f')}% from 20 rows)")
    for label in ("wizard step 2", "rename fragment"):
        mine = figures[label]
        versus = [a / b for a, b in zip(mine.ratio, empty.ratio, strict=True)]
        cpu = [b / a for a, b in zip(mine.cpu, empty.cpu, strict=True)]
        ok = verdict(statistics.median(versus) >= 1, statistics.median(cpu) >= 1)
        print(f"target: {label} at least as fast as the empty page: {ok} "
              f"({spread(versus, '.2f')}x its speed; by server CPU {spread(cpu, '.2f')}x)")


def verdict(by_rate: bool, by_cpu: bool) -> str:
    """The target is about requests per second; the CPU figure says whether noise decided it."""
    if by_rate == by_cpu:
        return "meets" if by_rate else "MISSES"
    said = "meets" if by_rate else "misses"
    return f"UNCLEAR (req/s {said}, server CPU says the opposite: a noisy machine, run again)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--check", action="store_true",
                        help="seed, serve, sign in and check every URL; no wrk")
    parser.add_argument("--profile", type=int, metavar="N",
                        help="time and profile N in-process requests of each page instead")
    options = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None and not (options.check or options.profile):
        raise SystemExit("wrk is not installed: `apt-get install wrk` (Debian's package); "
                         "--check and --profile run without it")

    with tempfile.TemporaryDirectory(prefix="bench-pages-") as scratch:
        env = server_environment(
            options.database_url or f"sqlite:///{Path(scratch) / 'bench.db'}"
        )
        app = create_app(app_config())
        with app.app_context():
            db.create_all()
            started = time.monotonic()
            seeded = seed()
            seeded_in = time.monotonic() - started
        backend = env["BENCH_DATABASE_URL"].split(":", 1)[0]
        print(f"seeded Enterprise orgs with {', '.join(map(str, seeded.slugs))} active "
              f"registries and their admin in {seeded_in:.1f} s; database {backend}; "
              f"{os.cpu_count()} CPU cores")
        if options.profile:
            profile(app, seeded, options.profile)
            return
        print_query_counts(query_counts(app, seeded))
        with app.app_context():
            db.engine.dispose()

        ports = {"product": free_port(), "hello": free_port()}
        command = " ".join(["gunicorn", *GUNICORN])
        print(f"`{command}` on 127.0.0.1 for both: the product (bench.pages:server_app()) on "
              f":{ports['product']}, the bare hello app (bench.hello:app) on :{ports['hello']}; "
              f"rate limits OFF (RATELIMIT_ENABLED=False)")
        servers = {
            "product": Server(ports["product"], start_gunicorn(
                "bench.pages:server_app()", ports["product"], GUNICORN, env)),
            "hello": Server(ports["hello"], start_gunicorn(
                "bench.hello:app", ports["hello"], GUNICORN, env)),
        }
        try:
            cookie = sign_in(ports["product"], seeded.email)
            print("signed in once over HTTP; every URL answers 200 with its content and no "
                  "Set-Cookie (nothing changed, the cookie is fresh):")
            for page in [HELLO, *product_pages(seeded)]:
                port = ports["hello" if page is HELLO else "product"]
                body = check(port, page, None if page is HELLO else cookie)
                print(f"  {page.label:<26} {size(body)}  {page.path}"
                      + (" (HX-Request: true)" if page.headers else ""))
            try:  # the check must be able to fail: without the cookie, /login answers instead
                check(ports["product"], product_pages(seeded)[0], None)
            except SystemExit as refused:
                print(f"  (and without the session cookie: {refused})")
            else:
                raise SystemExit("the empty page answered 200 without a session cookie")
            if options.check:
                print("wrk: " + (wrk or "NOT INSTALLED (apt-get install wrk)")
                      + "; --check stops here")
                return
            with tempfile.NamedTemporaryFile("w", suffix=".lua", dir=scratch,
                                             delete=False) as script:
                script.write(WRK_SCRIPT)
            load = Load(options.duration, options.connections, options.threads,
                        Path(script.name))
            print(f"wrk -t{options.threads} -c{options.connections} -d{options.duration:g}s per "
                  f"run; hello before and after each page; {options.rounds} rounds")
            sys.stdout.flush()
            benchmark(load, options.rounds, servers, seeded)
        finally:
            for server in servers.values():
                stop(server.process)


if __name__ == "__main__":
    main()
