"""The registry settings forms on their own (webapp/registries/forms/): each kind's form turns
its fields into RegistryDetails, fills itself from a registry or from carried values, and takes
its words from its provider."""

from __future__ import annotations

import uuid

import pytest
from werkzeug.datastructures import MultiDict

from tests.support.apps import make_app, make_config
from webapp.models import Registry
from webapp.registries import kinds
from webapp.registries.forms import (
    SETTINGS_FORMS,
    ChooseTypeForm,
    DockerHubSettingsForm,
    DockerRegistrySettingsForm,
    GitHubSettingsForm,
)
from webapp.registry_client import providers


@pytest.fixture(params=[False, True], ids=["https only", "insecure allowed"])
def request_context(request):
    app = make_app(make_config("sqlite://", ALLOW_INSECURE_REGISTRIES=request.param))
    with app.test_request_context(method="POST"):
        yield request.param


def submitted(form_class, secret_on_file=False, **fields):
    form = form_class(formdata=MultiDict(fields), meta={"csrf": False})
    form.secret_on_file = secret_on_file
    assert form.validate(), form.errors
    return form


@pytest.mark.parametrize("form_class", [DockerRegistrySettingsForm, GitHubSettingsForm])
def test_the_api_keeps_validate_alone_a_missing_secret_is_the_services_refusal(
        request_context, form_class):
    form = form_class(formdata=MultiDict({**BASICS, "password": "", "registry_url": "r.example.com"}),
                      meta={"csrf": False})
    assert form.validate(), form.errors


BASICS = {"name": "Build cache", "username": "alice", "password": "s3cret"}


def test_a_docker_registry_address_becomes_its_parts(request_context):
    form = submitted(DockerRegistrySettingsForm, registry_url="Registry.Example.com:5000/team/",
                     test_image="app:1", **BASICS)
    details = form.details()
    assert (details.kind, details.scheme, details.host, details.namespace) == (
        "docker_registry", "https", "registry.example.com:5000", "team")
    assert (details.name, details.username, details.secret, details.test_image) == (
        "Build cache", "alice", "s3cret", "app:1")


def test_an_empty_password_means_keep_when_one_is_stored(request_context):
    form = submitted(DockerRegistrySettingsForm, registry_url="r.example.com", secret_on_file=True,
                     **{**BASICS, "password": ""})
    assert form.validate_page()
    assert form.details().secret is None


@pytest.mark.parametrize("form_class", [DockerRegistrySettingsForm, GitHubSettingsForm])
def test_an_empty_form_flags_every_required_field_at_once_the_secret_too(request_context,
                                                                         form_class):
    form = form_class(formdata=MultiDict({"name": ""}), meta={"csrf": False})
    assert not form.validate_page()
    required = {"name", "username", "password"} | (
        {"registry_url"} if form_class is DockerRegistrySettingsForm else set())
    assert required <= set(form.errors), form.errors


@pytest.mark.parametrize(("typed", "label"), [("docker.io/acme", "Docker Hub"),
                                               ("https://ghcr.io/acme", "GitHub")])
def test_another_kinds_address_is_sent_back_to_step_one(request_context, typed, label):
    form = submitted(DockerRegistrySettingsForm, registry_url=typed, **BASICS)
    assert form.details() is None
    assert form.registry_url.errors == [
        f"This is a {label} address: go back and choose the {label} type."
    ]


def test_plain_http_only_where_the_app_allows_it(request_context):
    form = submitted(DockerRegistrySettingsForm, registry_url="http://r.example.com:8080",
                     **BASICS)
    details = form.details()
    if request_context:
        assert (details.scheme, details.host) == ("http", "r.example.com:8080")
    else:
        assert details is None and "Plain http:// registries are not allowed" in " ".join(
            form.registry_url.errors)


@pytest.mark.parametrize(("form_class", "host"), [(DockerHubSettingsForm, "docker.io"),
                                                   (GitHubSettingsForm, "ghcr.io")])
def test_a_fixed_host_kind_takes_its_providers_host(request_context, form_class, host):
    form = submitted(form_class, namespace="/acme/team/", **BASICS)
    details = form.details()
    assert (details.scheme, details.host, details.namespace) == ("https", host, "acme/team")
    assert form.address_field is form.namespace


def _registry(**columns) -> Registry:
    values = {"id": uuid.uuid4(), "name": "Cache", "username": "bob", "scheme": "https",
              "host": "r.example.com:5000", "namespace": "", "ca_certificate": None,
              "test_image": None}
    values.update(columns)
    return Registry(**values)


def test_a_stored_registry_fills_its_form_but_never_its_secret(request_context):
    form = DockerRegistrySettingsForm(meta={"csrf": False}, formdata=None)
    form.fill_from(_registry(scheme="http", namespace="team", test_image="app:1"))
    assert (form.name.data, form.username.data) == ("Cache", "bob")
    assert form.registry_url.data == "http://r.example.com:5000/team"
    assert form.test_image.data == "app:1" and form.password.data is None
    hub = DockerHubSettingsForm(meta={"csrf": False}, formdata=None)
    hub.fill_from(_registry(host="docker.io", namespace="acme"))
    assert hub.namespace.data == "acme"


def test_carried_values_fill_only_this_kinds_fields(request_context):
    form = DockerHubSettingsForm(meta={"csrf": False}, formdata=None)
    form.fill_from_carried({"name": "x" * 600, "registry_url": "r.example.com",
                            "namespace": "acme", "password": "never", "username": ""})
    assert form.name.data == "x" * 512 and form.namespace.data == "acme"
    assert form.password.data is None and form.username.data is None
    assert form.carried() == {"name": "x" * 512, "namespace": "acme"}


def test_every_kind_has_a_form_with_its_providers_words():
    assert [form.provider.kind for form in SETTINGS_FORMS] == list(providers.PROVIDERS)
    for form_class in SETTINGS_FORMS:
        provider = form_class.provider
        # AWS ECR's "username" is an access key ID (its user is always AWS).
        user = getattr(form_class, "username", None) or form_class.access_key_id
        assert user.args[0] == provider.username.label
        assert form_class.password.args[0] == provider.secret.label
        assert provider.secret.help in form_class.password.kwargs["description"]
        assert kinds.KINDS[provider.kind].form is form_class


def test_step_one_offers_the_kinds_it_is_given(request_context):
    form = ChooseTypeForm(formdata=MultiDict({"kind": "github"}), meta={"csrf": False},
                          kinds=kinds.choices())
    assert [(choice.value, choice.label) for choice in form.kind.choices] == [
        ("docker_registry", "Docker Registry"), ("docker_hub", "Docker Hub"), ("github", "GitHub"),
        ("aws_ecr", "AWS ECR")]
    assert form.validate()
    unknown = ChooseTypeForm(formdata=MultiDict({"kind": "quay"}), meta={"csrf": False},
                             kinds=kinds.choices())
    assert not unknown.validate() and unknown.kind.errors
