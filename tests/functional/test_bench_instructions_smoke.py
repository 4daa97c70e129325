"""bench/instructions.py cannot rot silently: run as bench/README.md says (a few requests, one
page), it counts hello's and the page's instructions under callgrind and prints their ratio."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.components import missing

ROOT = Path(__file__).resolve().parents[2]


def test_the_instruction_benchmark_counts_a_page_against_hello():
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        missing("valgrind", "Debian's valgrind is not installed (apt-get install valgrind)")
    env = dict(os.environ, PYTHONPATH=".")
    result = subprocess.run(
        [sys.executable, "bench/instructions.py", "--requests", "3", "--page", "rename fragment"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    hello = re.search(r"^  hello +([\d,]+) k instructions per request$", output, re.M)
    page = re.search(r"^  rename fragment +([\d,]+) k instructions per request = ([\d.]+)x hello$",
                     output, re.M)
    assert hello and page, output
    # A real count: a Flask request is hundreds of thousands of instructions, a page more.
    assert 100 < int(hello.group(1).replace(",", "")) < int(page.group(1).replace(",", ""))
    assert 0 < float(page.group(2)) < 1
