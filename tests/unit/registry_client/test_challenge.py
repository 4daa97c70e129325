"""Parsing WWW-Authenticate challenges as registries really send them."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webapp.registry_client.challenge import Challenge, parse_challenges
from webapp.registry_client.errors import ChallengeError


def test_distribution_bearer_challenge():
    line = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"'
    assert parse_challenges([line]) == [
        Challenge(
            "bearer", {"realm": "https://auth.docker.io/token", "service": "registry.docker.io"}
        )
    ]


def test_basic_challenge():
    assert parse_challenges(['Basic realm="test-basic-realm"']) == [
        Challenge("basic", {"realm": "test-basic-realm"})
    ]


def test_quoted_commas_and_spaces_stay_inside_the_value():
    line = (
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:samalba/my-app:pull,push repository:other/app:pull"'
    )
    (challenge,) = parse_challenges([line])
    assert (
        challenge.params["scope"] == "repository:samalba/my-app:pull,push repository:other/app:pull"
    )


def test_several_challenges_in_one_line_codeberg_style():
    line = (
        'Bearer realm="https://codeberg.org/v2/token",service="container_registry",scope="*",'
        'Basic realm="https://codeberg.org/v2",service="container_registry",scope="*"'
    )
    assert parse_challenges([line]) == [
        Challenge(
            "bearer",
            {
                "realm": "https://codeberg.org/v2/token",
                "service": "container_registry",
                "scope": "*",
            },
        ),
        Challenge(
            "basic",
            {"realm": "https://codeberg.org/v2", "service": "container_registry", "scope": "*"},
        ),
    ]


def test_several_header_lines():
    lines = ['Bearer realm="https://r.example/token"', 'Basic realm="r"']
    assert [c.scheme for c in parse_challenges(lines)] == ["bearer", "basic"]


def test_schemes_and_parameter_names_are_case_insensitive():
    (challenge,) = parse_challenges(['BEARER Realm="https://r.example/t", SERVICE=reg'])
    assert challenge == Challenge("bearer", {"realm": "https://r.example/t", "service": "reg"})


def test_escaped_quotes_and_backslashes():
    (challenge,) = parse_challenges([r'Basic realm="say \"hi\" \\ bye"'])
    assert challenge.params["realm"] == 'say "hi" \\ bye'


def test_whitespace_around_equals_and_commas():
    (challenge,) = parse_challenges(['Bearer  realm = "x" ,  service=y ,error="invalid_token"'])
    assert challenge.params == {"realm": "x", "service": "y", "error": "invalid_token"}


def test_first_duplicate_parameter_wins():
    (challenge,) = parse_challenges(['Bearer realm="first",realm="second"'])
    assert challenge.params["realm"] == "first"


def test_scheme_without_parameters_and_token68():
    assert parse_challenges(
        ["Negotiate", "Negotiate abc123==, Basic realm=x", "Bearer realm="]
    ) == [
        Challenge("negotiate", {}),
        Challenge("negotiate", {}),
        Challenge("basic", {"realm": "x"}),
        Challenge("bearer", {}),  # "realm=" is a token68, not a parameter without a value
    ]


def test_empty_lines_give_no_challenges():
    assert parse_challenges([]) == []
    assert parse_challenges(["", " , "]) == []


# Docker's own table (moby daemon/internal/registryclient/auth/authchallenge_test.go, the same
# parser as distribution's and containers/image's wwwauthenticate_test.go), then the malformed
# endings that parser reads "as far as it is well formed": the challenge keeps what came before.
DOCKER_TABLE = [
    (
        r'Bearer realm="https://auth.example.com/token",service="registry.example.com",'
        r'other=fun,slashed="he\"\l\lo"',
        [Challenge("bearer", {"realm": "https://auth.example.com/token",
                              "service": "registry.example.com", "other": "fun",
                              "slashed": 'he"llo'})],
    ),
    (
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/busybox:pull,push"',
        [Challenge("bearer", {"realm": "https://auth.docker.io/token",
                              "service": "registry.docker.io",
                              "scope": "repository:library/busybox:pull,push"})],
    ),
    (
        'Bearer realm="http://127.0.0.1:5000/openshift/token"',
        [Challenge("bearer", {"realm": "http://127.0.0.1:5000/openshift/token"})],
    ),
]

AS_FAR_AS_WELL_FORMED = [
    # The last parameter has an empty value: the challenge ends before it.
    (
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope=',
        [Challenge("bearer", {"realm": "https://auth.example.com/token",
                              "service": "registry.example.com"})],
    ),
    # The last parameter's quote is never closed.
    (
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repo',
        [Challenge("bearer", {"realm": "https://auth.example.com/token",
                              "service": "registry.example.com"})],
    ),
    ('Bearer realm="https://r.example/t",service=', [Challenge("bearer", {"realm": "https://r.example/t"})]),
    # No "=" after a name: several challenges may share a line, so it reads as the next scheme.
    ('Bearer realm="https://r.example/t",service',
     [Challenge("bearer", {"realm": "https://r.example/t"}), Challenge("service", {})]),
    # No comma before the next parameter.
    ('Bearer realm="a" service="b"', [Challenge("bearer", {"realm": "a"})]),
    # The realm itself is what was malformed: a challenge without one (the handshake refuses it).
    ('Bearer realm="never closed', [Challenge("bearer", {})]),
    ("Bearer realm=\x00", [Challenge("bearer", {})]),
    ("Bear\u00e9r realm=x", [Challenge("bear", {})]),
    ('realm="https://x"', [Challenge("realm", {})]),
    # What comes after a malformed point on the same line is dropped; other lines are not.
    ('Basic realm="r", Bearer realm="x" oops, Basic realm=y', [
        Challenge("basic", {"realm": "r"}), Challenge("bearer", {"realm": "x"})]),
]


@pytest.mark.parametrize(("line", "expected"), DOCKER_TABLE + AS_FAR_AS_WELL_FORMED)
def test_challenges_are_read_as_far_as_they_are_well_formed(line, expected):
    assert parse_challenges([line]) == expected


def test_an_unreadable_line_does_not_hide_the_others():
    lines = ['"Bearer" realm=x', 'Basic realm="r"']
    assert parse_challenges(lines) == [Challenge("basic", {"realm": "r"})]


@pytest.mark.parametrize("line", ['"Bearer" realm=x', "=", "\u00e9 realm=x", ", ;"])
def test_a_header_with_nothing_readable_raises_challenge_error(line):
    with pytest.raises(ChallengeError):
        parse_challenges([line])


@given(st.lists(st.text(max_size=80), max_size=3))
def test_parser_raises_only_challenge_error(lines):
    with contextlib.suppress(ChallengeError):
        parse_challenges(lines)


@given(st.lists(st.text(alphabet='Bearic =,"\\xyz\t', max_size=40), max_size=3))
def test_parser_raises_only_challenge_error_on_challenge_like_text(lines):
    with contextlib.suppress(ChallengeError):
        parse_challenges(lines)


_token = st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,8}", fullmatch=True)
_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20)
_challenges = st.lists(
    st.tuples(_token, st.dictionaries(_token.map(str.lower), _values, max_size=3)), max_size=3
)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@given(_challenges, st.booleans())
def test_formatted_challenges_parse_back(challenges, one_line):
    parts = [
        f"{scheme} " + ", ".join(f"{k}={_quote(v)}" for k, v in params.items())
        if params
        else scheme
        for scheme, params in challenges
    ]
    lines = [", ".join(parts)] if one_line else parts
    expected = [Challenge(scheme.lower(), params) for scheme, params in challenges]
    assert parse_challenges(lines) == expected
