"""Server-side paging and search of a list page (the registry list, the private tools): the
page number and the search text come from the URL (`?q=…&page=…`), so a page can be linked,
reloaded and used without JavaScript; htmx swaps only the list on top."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Rows per page; a list of up to this many shows no pager and no search box.
PAGE_SIZE = 50
MAX_QUERY_LENGTH = 100


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int  # rows matching the search, all pages
    number: int  # 1-based
    query: str
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first_row(self) -> int:
        return (self.number - 1) * self.size + 1 if self.items else 0

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.items) - 1 if self.items else 0

    @property
    def searchable(self) -> bool:
        """Whether the page shows the search box: a list longer than a page, or a search."""
        return bool(self.query) or self.total > self.size

    def args(self, number: int) -> dict[str, Any]:
        """The URL arguments of another page of the same search."""
        return {"q": self.query or None, "page": number if number > 1 else None}


def requested(args: Mapping[str, str]) -> tuple[str, int]:
    """The search text and page number a URL's arguments ask for (bad values read as none
    and 1). Views pass `request.args`."""
    query = " ".join(args.get("q", "").split())[:MAX_QUERY_LENGTH]
    raw = args.get("page", "")
    number = int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) < 7 else 1
    return query, max(number, 1)


#: The escape character of `like_pattern`'s patterns (`LIKE … ESCAPE '/'`).
LIKE_ESCAPE = "/"


def like_pattern(query: str) -> str:
    """`%<query>%` in lowercase for a LIKE that finds the text itself: its %, _ and / are
    escaped, so they are not wildcards."""
    text = query.lower()
    for character in (LIKE_ESCAPE, "%", "_"):
        text = text.replace(character, LIKE_ESCAPE + character)
    return f"%{text}%"


def offset(number: int, size: int = PAGE_SIZE) -> int:
    return (number - 1) * size
