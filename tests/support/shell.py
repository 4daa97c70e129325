"""Commands run as an operator runs them: the installed console scripts, from a fresh shell.

A console script does not put the current directory on `sys.path`, and `PYTHONPATH` would hide
that, so these environments hold only what a fresh login shell has plus the settings passed in:
no PYTHONPATH, no VIRTUAL_ENV, nothing inherited from the test process. Their instance folder
(`INSTANCE_PATH`) is a scratch one, so a command the tests run neither reads the checkout's
instance/config.py nor writes into the checkout.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the virtualenv's bin, where `make install` put the scripts
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def fresh_environment(home: Path, **settings: str) -> dict[str, str]:
    environ = {"PATH": SYSTEM_PATH, "HOME": str(home), "LANG": "C.UTF-8",
               "INSTANCE_PATH": str(home / "instance")}
    environ.update(settings)
    return environ


@contextmanager
def running(command: list[str], cwd: Path, environ: dict[str, str], log: Path) -> Iterator[None]:
    """A long-running command (a worker, a server) in its own session, its output in `log`;
    always stopped: TERM then KILL at the end, and TERM if pytest itself dies (setpriv)."""
    setpriv = shutil.which("setpriv")
    command = [*([setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []), *command]
    with log.open("w") as output, subprocess.Popen(
        command, cwd=cwd, env=environ, stdout=output, stderr=subprocess.STDOUT,
        start_new_session=True,
    ) as process:
        try:
            yield
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
