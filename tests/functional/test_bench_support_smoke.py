"""bench/support.py cannot rot silently: its --check mode (small, so it is quick) seeds, serves
the product under gunicorn on 127.0.0.1, signs in over HTTP, checks every URL it would time and
compares the list's SQL statements at 10 registries and at the seeded size (no wrk needed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_support_benchmark_checks_what_it_times():
    env = dict(os.environ, PYTHONPATH=".")
    result = subprocess.run(
        [sys.executable, "bench/support.py", "--check", "--orgs", "3", "--per-org", "40"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "seeded 3 orgs x 40 registries" in output
    assert "at 10 registries" in output and "at 120: PASS" in output
    assert "every URL answers 200 with its rows" in output and "rate limits OFF" in output
