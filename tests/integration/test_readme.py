"""Every command block of README.md, run as written, from a fresh shell, with no PYTHONPATH.

Each ```sh block is looked up in BLOCKS by its first command. A block that is not there fails
`test_every_readme_command_block_is_known`: whoever adds one to the README says here how it runs
offline, or why it cannot (a skip with its reason, reported on every run). Blocks run from a
scratch directory that holds nothing but a `.venv` link to the checkout's virtualenv (so the
README's `.venv/bin/…` paths work and nothing else of the checkout is at hand), except `make`,
which needs the Makefile. What a test must change is listed as a substitution, with its reason,
and the written text must still be in the README, so the substitution cannot silently go stale.
Long-running commands (servers, the Celery worker and beat) are started, watched until they do
their job, then stopped; everything before them in a block runs first, in one shell.
"""

from __future__ import annotations

import re
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support.apps import TEST_KEYS, make_app, make_config
from tests.support.components import redis_url
from tests.support.factories import registry_row
from tests.support.registries import free_port
from tests.support.shell import BIN, ROOT, fresh_environment, running
from webapp.extensions import db
from webapp.models import ConnectivityCheck, Registry
from webapp.services import accounts, credentials
from webapp.services.vault import new_key_line

README = ROOT / "README.md"
SHELL_LANGUAGES = {"sh", "bash", "shell", "console", ""}
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<language>[\w-]*)\s*$")
# Commands that keep running: started, watched until `Block.working`, then stopped.
SERVER = re.compile(r"\s*(make run|\.venv/bin/celery|\.venv/bin/gunicorn|\.venv/bin/flask run)\b")
SECRET_KEY = "readme-secret-key-" + "x" * 24
TIMEOUT = 60.0


@dataclass
class Run:
    """One block's run: where, with what, and what came out."""

    home: Path
    cwd: Path
    database_url: str
    port: int
    environ: dict[str, str]
    logs: list[Path] = field(default_factory=list)
    registry_id: uuid.UUID | None = None

    def log(self, index: int) -> str:
        return self.logs[index].read_text(errors="replace")


@dataclass(frozen=True)
class Block:
    skip: str = ""  # why the whole block cannot run offline
    # (as written, as run, why); `{port}`, `{database_url}`, `{keys}`, `{secret_key}` are filled in.
    substitute: tuple[tuple[str, str, str], ...] = ()
    leave_out: dict[str, str] = field(default_factory=dict)  # a command -> why it is not run
    in_checkout: bool = False  # run from the repository root (make needs its Makefile)
    environ: Callable[[Run], dict[str, str]] | None = None  # settings the block's text assumes
    prepare: Callable[[Run], None] | None = None
    working: Callable[[Run], bool] | None = None  # the servers are up and doing their job
    check: Callable[[Run, str], None] | None = None  # on the one-shot commands' output


def answers(run: Run) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{run.port}/login", timeout=2) as page:  # noqa: S310 - loopback
            return page.status == 200 and b"Sign in" in page.read()
    except OSError:
        return False


def make_run_serves(run: Run) -> bool:
    log = run.log(0)
    # From the checkout, where .flaskenv is: flask reads it (python-dotenv), with no tip.
    assert "python-dotenv" not in log, log
    return "Demo login: admin@acme.example / demo-password-acme" in log and answers(run)


def celery_settings(run: Run) -> dict[str, str]:
    return {"CELERY_BROKER_URL": redis_url(), "CELERY_QUEUE": f"readme-{uuid.uuid4().hex[:12]}"}


def a_registry_due(run: Run) -> None:
    """Workers need the web's database: one registry, due for its scheduled check."""
    app = make_app(make_config(run.database_url, CREDENTIAL_KEYS=TEST_KEYS,
                               SECRET_KEY=SECRET_KEY))
    with app.app_context():
        db.create_all()
        org = accounts.create_org("acme", "Acme", "enterprise")
        db.session.flush()
        row = Registry(id=uuid.uuid4(), org_id=org.id, kind="docker_registry", name="Cache",
                       name_key="cache", host=run.environ["README_REGISTRY"], username="alice",
                       state="active", status="checking", ca_certificate=run.environ["README_CA"])
        credentials.store_secret(row, "s3cret-alice")
        db.session.add(row)
        db.session.commit()
        run.registry_id = row.id
        db.engine.dispose()


NEW_KEY = new_key_line("t2")


def a_secret_on_the_old_key(run: Run) -> None:
    """A deployed database: one secret sealed with t1, before t2 was put first."""
    app = make_app(make_config(run.database_url, SECRET_KEY=SECRET_KEY))
    with app.app_context():
        db.create_all()
        org = accounts.create_org("acme", "Acme", "enterprise")
        db.session.flush()
        registry_row(org.id, secret="s3cret")
        db.engine.dispose()


def rotated_the_one_secret(run: Run, output: str) -> None:
    assert "Re-encrypted 1 secret(s) with the newest key." in output
    assert "No secret needs an older key" in output


def beat_swept_and_the_worker_checked(run: Run) -> bool:
    app = make_app(make_config(run.database_url, SECRET_KEY=SECRET_KEY))
    with app.app_context():
        check = db.session.scalar(select(ConnectivityCheck).where(
            ConnectivityCheck.registry_id == run.registry_id, ConnectivityCheck.outcome == "connected"))
        db.engine.dispose()
    return check is not None and check.trigger == "scheduled"


def the_cli_block_did_its_work(run: Run, output: str) -> None:
    assert "Created organization acme (enterprise)." in output
    assert "Created user admin@acme.example in acme as admin." in output
    assert "Created user help@platform.example as support staff." in output
    assert len(re.findall(r"^prt_\S{40,}$", output, re.MULTILINE)) == 2  # each token, once
    assert re.search(r"^edge-1\tactive\tcreated \S+\texpires \S+\tlast used never$", output,
                     re.MULTILINE)
    assert "Revoked runner token 'edge-1'." in output
    assert re.search(r"^k[0-9a-f]{6}:[A-Za-z0-9_-]{43}=$", output, re.MULTILINE)  # a key line
    assert "No secret needs an older key" in output
    assert "Demo login: admin@acme.example / demo-password-acme" in output


ANY_PORT = ("PORT=8080", "PORT={port}", "a free port: 8080 may be taken on a shared machine")
ON_LOOPBACK = ("HOST=0.0.0.0", "HOST=127.0.0.1", "tests listen on loopback only")

BLOCKS: dict[str, Block] = {
    "make run": Block(leave_out={
        "make run": "run below, as `make run HOST=… PORT=…` on a free port (5000 may be taken)",
        "make test": "it is this test suite",
    }),
    "make run HOST=0.0.0.0 PORT=8080": Block(
        in_checkout=True, substitute=(ON_LOOPBACK, ANY_PORT), working=make_run_serves,
    ),
    ".venv/bin/flask db upgrade": Block(check=the_cli_block_did_its_work),
    ".venv/bin/celery -A webapp.celery_app worker --pool threads --concurrency 32": Block(
        environ=celery_settings, prepare=a_registry_due, working=beat_swept_and_the_worker_checked,
    ),
    "curl -sS -X POST https://app.example/api/v1/pull-credentials \\": Block(
        skip="it calls a deployed app at app.example, and tests send traffic to 127.0.0.1 only; "
             "the runner API and skopeo pulling with its answer are tested in "
             "tests/functional/test_runner_api.py and tests/integration/test_pull_end_to_end.py",
    ),
    "curl -sS -o answer.json -X POST https://app.example/api/v1/pull-credentials \\": Block(
        skip="it calls a deployed app at app.example, and tests send traffic to 127.0.0.1 only; "
             "the pull-token answer read by skopeo --registry-token is tested in "
             "tests/integration/test_pull_tokens.py",
    ),
    "export APP_ENV=production SECRET_KEY=… CREDENTIAL_KEYS=… \\": Block(
        substitute=(
            ("SECRET_KEY=…", "SECRET_KEY={secret_key}", "the placeholder"),
            ("CREDENTIAL_KEYS=…", "CREDENTIAL_KEYS={keys}", "the placeholder"),
            ("DATABASE_URL=postgresql://app@db/app", "DATABASE_URL={database_url}",
             "no host named db here; PostgreSQL is tested by the backend_url tests"),
            ("RATELIMIT_STORAGE_URI=redis://redis:6379/1", "RATELIMIT_STORAGE_URI=memory://",
             "no host named redis here"),
            ("--bind 0.0.0.0:8000", "--bind 127.0.0.1:{port}",
             "tests listen on loopback only, on a free port"),
        ),
        working=answers,
    ),
    ".venv/bin/flask keys rotate": Block(
        environ=lambda run: {"CREDENTIAL_KEYS": f"{NEW_KEY},{TEST_KEYS}"},
        prepare=a_secret_on_the_old_key, check=rotated_the_one_secret,
    ),
}


# --- reading the README -----------------------------------------------------------------------


def command_blocks(text: str) -> list[str]:
    """The text of each shell block (```sh, ```bash, … or unlabelled), dedented."""
    blocks: list[str] = []
    lines: list[str] | None = None
    indent = language = ""
    for line in text.splitlines():
        fence = FENCE.match(line)
        if lines is None:
            if fence:
                lines, indent, language = [], fence["indent"], fence["language"]
        elif fence and not fence["language"]:
            if language in SHELL_LANGUAGES:
                blocks.append("\n".join(lines))
            lines = None
        else:
            lines.append(line.removeprefix(indent))
    assert lines is None, "README.md has an unclosed code block"
    return blocks


def commands(block: str) -> list[str]:
    """Logical command lines: continuations joined, blank and comment-only lines left out."""
    joined = re.sub(r"\\\n\s*", "\\\\\n", block)
    logical: list[str] = []
    current = ""
    for line in joined.splitlines():
        current += line + "\n"
        if not line.endswith("\\"):
            if current.strip() and not current.strip().startswith("#"):
                logical.append(current.rstrip("\n"))
            current = ""
    return logical


def key(block: str) -> str:
    first = commands(block)[0].splitlines()[0]
    return " ".join(re.sub(r"\s+#.*$", "", first).split())


def without_comment(command: str) -> str:
    return " ".join(re.sub(r"\s+#[^\n]*$", "", command).split())


def readme_blocks() -> dict[str, str]:
    return {key(block): block for block in command_blocks(README.read_text())}


# --- the tests --------------------------------------------------------------------------------


def test_every_readme_command_block_is_known():
    found = readme_blocks()
    unknown = sorted(set(found) - set(BLOCKS))
    assert not unknown, (
        "README.md has command blocks this test does not know; add each to BLOCKS in "
        f"{Path(__file__).relative_to(ROOT)}, with how it runs offline or why it cannot: {unknown}"
    )
    stale = sorted(set(BLOCKS) - set(found))
    assert not stale, f"BLOCKS names blocks README.md no longer has: {stale}"
    for name, spec in BLOCKS.items():
        assert not spec.skip or not (spec.substitute or spec.leave_out), name
        for written, _, why in spec.substitute:
            assert written in found[name] and why, (name, written)
        for command, why in spec.leave_out.items():
            assert command in map(without_comment, commands(found[name])) and why, (name, command)


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A directory with nothing of the checkout but its virtualenv, as `.venv`."""
    where = tmp_path / "elsewhere"
    where.mkdir()
    (where / ".venv").symlink_to(BIN.parent, target_is_directory=True)
    return where


@pytest.fixture
def registry_for_workers(request: pytest.FixtureRequest, name: str) -> dict[str, str]:
    if BLOCKS[name].prepare is not a_registry_due:
        return {}
    registry = request.getfixturevalue("htpasswd_registry")
    return {"README_REGISTRY": registry.host_port, "README_CA": registry.ca_pem}


# A block that cannot run offline is not a case at all (a skip in CI would read as a missing
# component): its reason is checked by test_every_readme_command_block_is_known instead.
@pytest.mark.parametrize("name", [name for name, spec in BLOCKS.items() if not spec.skip])
def test_readme_block_runs_as_written(name, tmp_path, scratch, registry_for_workers):
    spec = BLOCKS[name]
    block = readme_blocks().get(name)
    assert block is not None, f"README.md has no block starting {name!r}"
    run = Run(home=tmp_path, cwd=ROOT if spec.in_checkout else scratch,
              database_url=f"sqlite:///{tmp_path / 'readme.db'}", port=free_port(), environ={})
    run.environ = fresh_environment(
        tmp_path, APP_ENV="development", DATABASE_URL=run.database_url, SECRET_KEY=SECRET_KEY,
        CREDENTIAL_KEYS=TEST_KEYS, CHECK_SWEEP_SECONDS="1",
        OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32",
    )
    run.environ.update(spec.environ(run) if spec.environ else {})
    values = {"port": run.port, "database_url": run.database_url, "keys": TEST_KEYS,
              "secret_key": SECRET_KEY}
    for written, as_run, _ in spec.substitute:
        block = block.replace(written, as_run.format(**values))
    lines = [line for line in commands(block) if without_comment(line) not in spec.leave_out]
    servers = [line for line in lines if SERVER.match(line)]
    one_shots = lines[: len(lines) - len(servers)]
    assert lines[len(one_shots):] == servers, "a block's long-running commands must come last"
    if spec.prepare:
        run.environ.update(registry_for_workers)
        spec.prepare(run)

    output = ""
    if one_shots:
        output = run_in_one_shell(run, one_shots)
    if spec.check:
        spec.check(run, output)
    if servers:
        with started(run, servers):
            working = spec.working or answers
            deadline = time.monotonic() + TIMEOUT
            while not working(run):
                logs = "\n".join(f"--- {line}\n{run.log(i)}" for i, line in enumerate(servers))
                assert time.monotonic() < deadline, f"{name!r} did not start working:\n{logs}"
                time.sleep(0.5)
        for index in range(len(servers)):
            assert "Traceback" not in run.log(index), run.log(index)


def run_in_one_shell(run: Run, lines: list[str]) -> str:
    """The block's one-shot commands in one fresh bash (set -eu -o pipefail); what they left in
    the environment (`export …`) carries on to its servers."""
    exported = run.home / "environment"
    script = "\n".join(lines) + f'\nenv -0 > "{exported}"\n'
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=run.cwd, env=run.environ,
                          capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"exit {done.returncode}:\n{output}"
    assert "ModuleNotFoundError" not in output and "Traceback" not in output, output
    run.environ = dict(item.split("=", 1) for item in exported.read_text().split("\0") if item)
    return output


@contextmanager
def started(run: Run, lines: list[str]) -> Iterator[None]:
    """Each long-running command of a block in its own session, all stopped at the end."""
    with ExitStack() as stack:
        for index, line in enumerate(lines):
            run.logs.append(run.home / f"server-{index}.log")
            stack.enter_context(running(["bash", "-c", f"exec {line}"], run.cwd, run.environ,
                                        run.logs[-1]))
        yield
