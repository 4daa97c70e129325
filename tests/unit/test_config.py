import os
import stat
from pathlib import Path

import pytest

import config
from config import ConfigError
from webapp import create_app


def test_production_refuses_to_start_without_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("CREDENTIAL_KEYS", "k1:" + "A" * 43)
    with pytest.raises(ConfigError, match="SECRET_KEY must be set"):
        create_app()


def test_development_generates_a_private_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("CREDENTIAL_KEYS", raising=False)
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    path = os.path.join(app.instance_path, "secret_key")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert app.config["SECRET_KEY"] == Path(path).read_text().strip()


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


def test_bad_outbound_network_is_refused():
    with pytest.raises(ConfigError, match="OUTBOUND_ALLOWED_NETWORKS"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                    "CREDENTIAL_KEYS": "k1:" + "A" * 43, "OUTBOUND_ALLOWED_NETWORKS": "10.0.0.0/33"})


def test_create_app_starts_no_thread():
    import threading

    before = {t.ident for t in threading.enumerate()}
    create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                "CREDENTIAL_KEYS": "k1:" + "A" * 43})
    assert {t.ident for t in threading.enumerate()} == before
