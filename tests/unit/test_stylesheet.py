"""The stylesheet parses as written: an unclosed block does not fail loudly in a browser, it
nests every later rule inside it (CSS nesting), so whole features lose their styles (a merge
once left an `@container` open and AWS ECR's sign-in showed both ways at once)."""

import re
from pathlib import Path

CSS = Path(__file__).resolve().parents[2] / "static" / "app.css"


def test_every_block_of_app_css_is_closed_where_it_opened():
    text = re.sub(r"/\*.*?\*/", "", CSS.read_text(), flags=re.S)
    depth = 0
    for number, line in enumerate(text.splitlines(), 1):
        if depth == 0 and line.startswith((" ", "\t")) and line.strip() and "{" in line:
            raise AssertionError(f"app.css:{number}: an indented rule outside any block")
        depth += line.count("{") - line.count("}")
        assert depth >= 0, f"app.css:{number}: a closing brace too many"
        if line and not line[0].isspace() and line.rstrip().endswith("{") and depth > 1:
            raise AssertionError(f"app.css:{number}: a top-level rule inside an open block")
    assert depth == 0, "app.css ends inside an open block"
