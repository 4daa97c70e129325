"""Parsing `WWW-Authenticate` challenges (RFC 7235 §4.1, RFC 6750 §3).

Registries send one challenge per header line (distribution), several lines (which `requests`
folds into one string joined by ", " — read them with `resp.raw.headers.getlist(...)`), or
several challenges in one line (Codeberg: `Bearer realm=..,service=..,scope="*",Basic realm=..`).
Quoted values hold commas (`scope="repository:a/b:pull,push"`) and escaped quotes. Scheme and
parameter names are case-insensitive, so both are lowercased.

A line is read as far as it is well formed, as Docker and containers/image read it
(`parseValueAndParams`): at the first thing that is not (a last parameter with an empty value,
a quote never closed, text where a comma belongs) the challenge keeps the parameters read
before it and the rest of the line is dropped. So `Bearer realm="…",service="reg",scope=` is
still a Bearer challenge with its realm; whether the realm is there, and allowed, is for the
handshake to decide. Only when no line yields any challenge and one of them could not be read
at all (`"Bearer" realm=x`) is it `ChallengeError`, the only exception raised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import ChallengeError

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_SPACE = re.compile(r"[ \t]*")


@dataclass(frozen=True)
class Challenge:
    scheme: str
    params: dict[str, str] = field(default_factory=dict)


def parse_challenges(header_lines: list[str]) -> list[Challenge]:
    """All challenges of all lines, in order. Duplicate parameters: the first one wins."""
    challenges: list[Challenge] = []
    unreadable: ChallengeError | None = None
    for line in header_lines:
        read, error = _Line(line).parse()
        challenges.extend(read)
        if error is not None and not read:
            unreadable = unreadable or error
    if unreadable is not None and not challenges:
        raise unreadable
    return challenges


class _Line:
    """A small cursor-based parser for one header line."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> tuple[list[Challenge], ChallengeError | None]:
        """The challenges read up to the first malformed point, and what was wrong there."""
        challenges: list[Challenge] = []
        try:
            self._skip_separators()
            while self.pos < len(self.text):
                scheme = self._token("an authentication scheme")
                params: dict[str, str] = {}
                challenges.append(Challenge(scheme.lower(), params))
                if self._space_then_more() and not self._token68():
                    self._params(params)  # fills `params` as it goes: a failure keeps those
                self._skip_separators()
        except ChallengeError as error:
            return challenges, error
        return challenges, None

    def _params(self, params: dict[str, str]) -> None:
        """`name=value` pairs separated by commas, up to the next challenge or the end."""
        while True:
            name = self._token("a parameter name").lower()
            self._skip(_SPACE)
            if not self.text.startswith("=", self.pos):
                raise ChallengeError("A sign-in challenge has a parameter without a value.")
            self.pos += 1
            self._skip(_SPACE)
            value = (
                self._quoted()
                if self.text.startswith('"', self.pos)
                else self._token("a parameter value")
            )
            params.setdefault(name, value)
            self._skip(_SPACE)
            if not self._comma_then_param():
                return

    def _comma_then_param(self) -> bool:
        """Skip commas; True when a parameter (`name =`) follows, False at a scheme or the end."""
        start = self.pos
        self._skip_separators()
        match = _TOKEN.match(self.text, self.pos)
        if self.pos > start and match:
            after = _SPACE.match(self.text, match.end())
            if after and self.text.startswith("=", after.end()):
                return True
        if self.pos < len(self.text) and self.pos == start:
            raise ChallengeError("A sign-in challenge has text where a comma was expected.")
        return False

    def _space_then_more(self) -> bool:
        """After a scheme: True when parameters (or a token68) follow on this challenge."""
        spaced = self._skip(_SPACE)
        if self.pos >= len(self.text) or self.text[self.pos] == ",":
            return False
        if not spaced:
            raise ChallengeError("A sign-in challenge has no space after its scheme.")
        return True

    def _token68(self) -> bool:
        """A bare credential blob (`Negotiate abc==`): skipped, registries do not use it."""
        match = _TOKEN68.match(self.text, self.pos)
        if not match:
            return False
        rest = _SPACE.match(self.text, match.end())
        end = rest.end() if rest else match.end()
        token_only = _TOKEN.fullmatch(match.group()) is not None
        at_end = end >= len(self.text) or self.text[end] == ","
        if at_end and (token_only or match.group().endswith("=")):
            self.pos = end
            return True
        return False

    def _quoted(self) -> str:
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
            elif char == '"':
                self.pos += 1
                return "".join(out)
            else:
                out.append(char)
                self.pos += 1
        raise ChallengeError("A sign-in challenge has a quoted value that is never closed.")

    def _token(self, what: str) -> str:
        match = _TOKEN.match(self.text, self.pos)
        if not match:
            raise ChallengeError(f"A sign-in challenge could not be read: expected {what}.")
        self.pos = match.end()
        return match.group()

    def _skip(self, pattern: re.Pattern[str]) -> bool:
        match = pattern.match(self.text, self.pos)
        moved = bool(match and match.end() > self.pos)
        if match:
            self.pos = match.end()
        return moved

    def _skip_separators(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t,":
            self.pos += 1
