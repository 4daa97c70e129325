"""Instructions per request, counted by valgrind's callgrind: the one figure of bench/pages.py's
pages that does not move with the load of a shared machine (wall and CPU time moved ±30% here;
instruction counts repeat within ±0.5%). It answers "did this change make the page cheaper, and
by how much", in process through Flask's test client, with bench/hello.py's app beside it.

    PYTHONPATH=. .venv/bin/python bench/instructions.py                 # every page, 200 requests
    PYTHONPATH=. .venv/bin/python bench/instructions.py --requests 50 --page "wizard step 2"
    PYTHONPATH=. .venv/bin/python bench/instructions.py --page "registry page, empty" --fixed-cost

Each page runs in its own `valgrind --tool=callgrind --instr-atstart=no` process: it seeds a
fresh SQLite database as bench/pages.py does, signs in, sends 30 warm-up requests, then switches
counting on (`callgrind_control -i on`), sends the requests and switches it off. What the switch
itself costs (two `callgrind_control` runs, about 0.5 M instructions) is divided by the count of
requests. The ratios are instructions of hello over instructions of the page, so they read as
bench/pages.py's (higher is faster); they leave out what gunicorn and the socket cost, which is
the same for every page, so the ratios to hello run lower than by requests per second.

Needs valgrind (Debian `valgrind`)."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WARM_UP = 30
SWITCH = 500_000  # the two callgrind_control runs, counted once per process


#: What the empty registry page costs without parts of it: its fixed cost, what no page can
#: cut (the view's own work replaced, every hook, the session, the user's query kept).
ABLATIONS = {
    "empty page, the view answers a constant": lambda app: app.view_functions.update(
        {"registries.index": lambda **values: "registries"}),
    "empty page, the view runs its query only": lambda app: app.view_functions.update(
        {"registries.index": _query_only}),
}


def _query_only(**values: object) -> str:
    from webapp.access import current_org
    from webapp.services import registries

    registries.listing(current_org(), "", 1, with_alerts=True)
    return "registries"


def inner(label: str, count: int) -> None:
    """In the valgrind process: seed, warm up, count `count` requests of the page `label`."""
    sys.path.insert(0, str(ROOT))
    from bench import hello, pages, serving
    from webapp.extensions import db

    serving.server_environment(f"sqlite:///{tempfile.mkdtemp()}/instructions.db")
    if label == "hello":
        client, path, headers = hello.app.test_client(), "/", {}
    else:
        app = pages.server_app()
        with app.app_context():
            db.create_all()
            seeded = pages.seed()
        if label in ABLATIONS:
            ABLATIONS[label](app)
        pages_label = "registry page, empty" if label in ABLATIONS else label
        page = next(page for page in pages.product_pages(seeded) if page.label == pages_label)
        client, path, headers = pages.signed_in_client(app, seeded.email), page.path, page.headers

    def send() -> None:
        answer = client.get(path, headers=headers)
        if answer.status_code != 200:
            raise SystemExit(f"{label}: {path} answered {answer.status_code}")

    for _ in range(WARM_UP):
        send()
    control = ["callgrind_control", "-i"]
    subprocess.run([*control, "on", str(os.getpid())], check=True, capture_output=True)
    for _ in range(count):
        send()
    subprocess.run([*control, "off", str(os.getpid())], check=True, capture_output=True)


def counted(label: str, count: int) -> float:
    """Instructions per request of the page `label`, from a callgrind run of `inner`."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no",
             f"--callgrind-out-file={out}", sys.executable, __file__,
             "--inner", label, "--requests", str(count)],
            check=True, capture_output=True, cwd=ROOT,
        )
        totals = re.search(r"^totals: (\d+)", out.read_text(), re.MULTILINE)
        if totals is None:
            raise SystemExit(f"{label}: no totals in callgrind's output")
        return (int(totals.group(1)) - SWITCH) / count


def main() -> None:
    from bench import pages

    labels = ["hello", "registry page, empty", "registry page, 20 rows",
              "registry page, 100 rows", "wizard step 2", "rename fragment"]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--page", action="append", choices=labels,
                        help="only this page (and hello); repeatable")
    parser.add_argument("--fixed-cost", action="store_true",
                        help="also the empty page without its template, and without its query")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="valgrind processes at a time (default: one a core)")
    parser.add_argument("--inner", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.inner:
        inner(options.inner, options.requests)
        return
    chosen = ["hello", *(label for label in labels[1:] if label in (options.page or labels))]
    if options.fixed_cost:
        chosen += list(ABLATIONS)
    with ThreadPoolExecutor(options.jobs) as pool:  # each page is its own valgrind process
        figures = dict(zip(chosen, pool.map(lambda label: counted(label, options.requests),
                                            chosen), strict=True))
    for label in chosen:
        ratio = "" if label == "hello" else f" = {figures['hello'] / figures[label]:.3f}x hello"
        print(f"  {label:<24} {figures[label] / 1000:9,.0f} k instructions per request{ratio}")
    empty = figures.get("registry page, empty")
    if empty and "registry page, 100 rows" in figures:
        per_row = (figures["registry page, 100 rows"] - empty) / pages.shown(100)
        print(f"  each row {per_row / 1000:,.0f} k = {per_row / empty:.1%} of the empty page")
    for label in ("wizard step 2", "rename fragment"):
        if empty and label in figures:
            print(f"  {label}: {empty / figures[label]:.2f}x the empty page's speed")


if __name__ == "__main__":
    main()
