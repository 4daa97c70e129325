"""bench/pages.py cannot rot silently: its --check mode, run as bench/README.md says, seeds the
orgs, serves the product and the hello app under gunicorn on 127.0.0.1, signs in over HTTP and
checks that every URL it would time answers 200 with its content (no wrk needed)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("hello", "registry page, empty", "registry page, 20 rows", "registry page, 100 rows",
         "wizard step 2", "rename fragment")


def test_the_page_benchmark_checks_every_page_it_times():
    env = dict(os.environ, PYTHONPATH=".")
    result = subprocess.run(
        [sys.executable, "bench/pages.py", "--check"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "every URL answers 200 with its content" in output
    for label in PAGES:
        assert re.search(rf"^  {re.escape(label)} +HTML +[\d.]+ K?B ", output, re.M), output
    assert re.search(r"registry page at 10 rows (\d+), at 100 rows \1 \(does not grow", output)
    assert "without the session cookie: registry page, empty: GET" in output
    assert "answered 302 (to /login" in output
    assert "rate limits OFF" in output
