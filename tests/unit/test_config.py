import os
import stat
import threading
from pathlib import Path

import pytest

import config
from config import ConfigError
from tests.support.apps import make_app, make_config
from tests.support.shell import ROOT
from webapp import create_app


def test_production_refuses_to_start_without_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("CREDENTIAL_KEYS", "k1:" + "A" * 43)
    with pytest.raises(ConfigError, match="SECRET_KEY must be set"):
        create_app(instance_path=tmp_path)


def test_development_generates_a_private_secret_key(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}, instance_path=tmp_path)
    assert app.config["APP_ENV"] == "development"
    path = os.path.join(app.instance_path, "secret_key")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert app.config["SECRET_KEY"] == Path(path).read_text().strip()
    assert stat.S_IMODE(os.stat(tmp_path / "credential_keys").st_mode) == 0o600


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("APP_ENV", "staging", "APP_ENV must be one of"),
        ("CHECK_TIMEOUT_SECONDS", "ten", "CHECK_TIMEOUT_SECONDS must be a number"),
        ("CHECK_CONCURRENCY", "0", "CHECK_CONCURRENCY must be greater than zero"),
        ("ALLOW_INSECURE_REGISTRIES", "maybe", "ALLOW_INSECURE_REGISTRIES must be true or false"),
    ],
)
def test_bad_environment_values_name_the_variable(name, value, message):
    with pytest.raises(ConfigError, match=message):
        config.config_class({name: value}) if name == "APP_ENV" else config.from_environment(
            {name: value}
        )


def test_database_url_uses_psycopg():
    values = config.from_environment({"DATABASE_URL": "postgresql://u@h/db"})
    assert values["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


def test_the_providers_name_their_endpoint_settings():
    values = config.from_environment({"GHCR_URL": "https://ghcr.example"}, strings=["GHCR_URL"])
    assert values["GHCR_URL"] == "https://ghcr.example"


def test_bad_outbound_network_is_refused():
    with pytest.raises(ConfigError, match="OUTBOUND_ALLOWED_NETWORKS"):
        make_app(make_config("sqlite://", OUTBOUND_ALLOWED_NETWORKS="10.0.0.0/33"))


def test_create_app_starts_no_thread():
    # No thread that was not there before (one an earlier test left may end meanwhile).
    before = set(threading.enumerate())
    make_app(make_config("sqlite://"))
    assert set(threading.enumerate()) - before == set()


# --- a test app sees only what its test sets --------------------------------------------------


def _instance_file(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.py").write_text(text)
    return folder


def test_a_mapping_is_the_whole_configuration(monkeypatch, tmp_path):
    """What a developer's shell or instance folder holds never reaches a test app."""
    monkeypatch.setenv("CHECK_CONCURRENCY", "7")
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    folder = _instance_file(tmp_path / "instance", "CHECK_SWEEP_SECONDS = 5\nTESTING = False\n")
    app = create_app(make_config("sqlite://"), instance_path=folder)
    assert app.config["CHECK_CONCURRENCY"] == config.BaseConfig.CHECK_CONCURRENCY
    assert app.config["CHECK_SWEEP_SECONDS"] == config.BaseConfig.CHECK_SWEEP_SECONDS
    assert app.config["APP_ENV"] == "testing" and app.testing
    assert app.config["CELERY_BROKER_URL"] is None
    served = create_app(make_config("sqlite://", TESTING=False), instance_path=folder)
    assert served.config["APP_ENV"] == "development" and not served.testing


def test_without_a_mapping_the_environment_then_the_instance_file_apply(monkeypatch, tmp_path):
    folder = _instance_file(tmp_path / "instance", "CHECK_SWEEP_SECONDS = 5\nCHECK_CONCURRENCY = 9\n")
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("CHECK_CONCURRENCY", "7")
    monkeypatch.setenv("CHECK_INTERVAL_SECONDS", "60")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("CREDENTIAL_KEYS", "k1:" + "A" * 43)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("INSTANCE_PATH", str(folder))
    app = create_app()
    assert app.instance_path == str(folder.resolve())
    assert (app.config["CHECK_INTERVAL_SECONDS"], app.config["CHECK_SWEEP_SECONDS"]) == (60, 5)
    assert app.config["CHECK_CONCURRENCY"] == 9  # the instance file comes last
    monkeypatch.delenv("INSTANCE_PATH")
    assert create_app(instance_path=folder).config["CHECK_SWEEP_SECONDS"] == 5


def test_test_apps_have_their_own_instance_folder_outside_the_checkout(tmp_path):
    first, second = make_app(make_config("sqlite://")), make_app(make_config("sqlite://"))
    assert first.instance_path != second.instance_path
    for app in (first, second):
        assert not Path(app.instance_path).is_relative_to(ROOT)


def test_nothing_is_written_into_an_instance_folder_that_is_not_needed(tmp_path):
    folder = tmp_path / "instance"
    create_app(make_config(f"sqlite:///{tmp_path / 'app.db'}"), instance_path=folder)
    assert not folder.exists()
