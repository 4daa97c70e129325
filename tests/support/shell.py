"""Commands run as an operator runs them: the installed console scripts, from a fresh shell.

A console script does not put the current directory on `sys.path`, and `PYTHONPATH` would hide
that, so these environments hold only what a fresh login shell has plus the settings passed in:
no PYTHONPATH, no VIRTUAL_ENV, nothing inherited from the test process.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the virtualenv's bin, where `make install` put the scripts
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def fresh_environment(home: Path, **settings: str) -> dict[str, str]:
    environ = {"PATH": SYSTEM_PATH, "HOME": str(home), "LANG": "C.UTF-8"}
    environ.update(settings)
    return environ
