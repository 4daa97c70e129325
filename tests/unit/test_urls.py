"""Templates' remembered `url_for` (webapp/urls.py) answers what Flask's would, whatever the org,
the script root or the values: a wrong remembered link would send an admin to another org's page
(which answers 404) or off the app's prefix."""

from __future__ import annotations

import itertools
import uuid
from types import SimpleNamespace

import pytest
from flask import Flask, g, url_for
from werkzeug.routing import IntegerConverter, PathConverter, UUIDConverter

from tests.support.apps import make_app, make_config
from webapp.urls import RememberedUrls


@pytest.fixture(scope="module")
def app() -> Flask:
    return make_app(make_config("sqlite://"))


def sample(converter: object, index: int) -> object:
    if isinstance(converter, UUIDConverter):
        return uuid.UUID(int=index + 1)
    if isinstance(converter, IntegerConverter):
        return index + 1
    if isinstance(converter, PathConverter):
        return f"css/app-{index}.css"
    return f"value-{index}"


def link_values(app: Flask) -> list[tuple[str, dict[str, object]]]:
    """Every GET endpoint with values for its arguments, with and without an explicit slug (an
    org page's links leave it to the URL default), and one with a query argument."""
    cases = []
    for index, rule in enumerate(app.url_map.iter_rules()):
        if "GET" not in (rule.methods or ()):
            continue
        values = {name: sample(rule._converters[name], index) for name in rule.arguments}
        cases.append((rule.endpoint, values))
        if "slug" in values:
            cases.append((rule.endpoint, {k: v for k, v in values.items() if k != "slug"}))
        cases.append((rule.endpoint, {**values, "page": 2, "q": "a b&c"}))
    return cases


def test_the_one_url_default_is_the_org_slug(app: Flask) -> None:
    """The cache keys on the request's org because `_add_slug` is the app's only URL default: a
    new one (a locale, a tenant) must join the key in webapp/urls.py before it joins this list."""
    defaults = {
        name: [function.__qualname__ for function in functions]
        for name, functions in app.url_default_functions.items()
    }
    assert None not in defaults
    assert all(names == ["org_blueprint.<locals>._add_slug"] for names in defaults.values())
    assert set(defaults) == {"settings", "registries", "tools", "runner_tokens", "audit"}


def test_remembered_urls_are_flasks(app: Flask) -> None:
    remembered = RememberedUrls()  # one for all: no org's or prefix's link may leak to another
    cases = link_values(app)
    assert len(cases) > 60
    for script_root, slug in itertools.product(("", "/prefix"), ("acme", "globex", None)):
        path = "/orgs/acme/settings/" if slug else "/"
        with app.test_request_context(path, base_url=f"https://localhost{script_root}"):
            if slug:
                g.org = SimpleNamespace(slug=slug)
            for endpoint, values in cases:
                try:
                    expected = url_for(endpoint, **values)
                except Exception as error:  # noqa: BLE001 - the same failure either way
                    with pytest.raises(type(error)):
                        remembered(endpoint, **values)
                    continue
                for _ in range(2):  # built, then remembered
                    assert remembered(endpoint, **values) == expected, (endpoint, values)
                    assert expected.startswith(script_root + "/")


def test_relative_endpoints_follow_the_requests_blueprint(app: Flask) -> None:
    remembered = RememberedUrls()
    seen = set()
    for path in ("/orgs/acme/settings/infrastructure/container-registry/",
                 "/orgs/acme/settings/private-tools/", "/orgs/acme/settings/"):
        with app.test_request_context(path):
            g.org = SimpleNamespace(slug="acme")
            url = remembered(".index")
            assert url == url_for(".index")
            seen.add(url)
    assert len(seen) == 3


def test_values_of_another_type_are_another_link(app: Flask) -> None:
    remembered = RememberedUrls()
    with app.test_request_context("/"):
        assert remembered("auth.login", next="1") == url_for("auth.login", next="1")
        assert remembered("auth.login", next=1) == url_for("auth.login", next=1)
        assert remembered("auth.login", next=["a", "b"]) == url_for("auth.login", next=["a", "b"])


def test_special_arguments_and_no_request_are_built_by_flask(app: Flask) -> None:
    remembered = RememberedUrls()
    with app.test_request_context("/"):
        external = remembered("auth.login", _external=True)
        assert external == url_for("auth.login", _external=True)
        assert external.startswith("http")
        assert remembered("auth.login", _anchor="x").endswith("#x")
        assert remembered.urls == {}


def test_the_oldest_links_go_past_the_size(app: Flask) -> None:
    remembered = RememberedUrls(size=3)
    with app.test_request_context("/"):
        for page in range(10):
            assert remembered("auth.login", page=page) == url_for("auth.login", page=page)
    assert len(remembered.urls) == 3


def test_templates_use_it(app: Flask) -> None:
    assert isinstance(app.jinja_env.globals["url_for"], RememberedUrls)
