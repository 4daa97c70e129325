"""Putting the app's configuration together, then what it derives (keys, the database default,
the registry client's settings).

Where it comes from depends on what `create_app` is given:

- nothing (wsgi.py, the `flask` command, Celery): the class `APP_ENV` names, then the
  environment (config.py reads it), then an optional `config.py` in the instance folder;
- a config class: that class, then the environment and the instance file, as above;
- a mapping (tests, benchmarks): the whole configuration, on `TestingConfig` when it says
  `TESTING`, else on the class its own `APP_ENV` names. Neither the environment nor the
  instance file is read: a developer's `CHECK_CONCURRENCY` or instance/config.py cannot change
  what a test sees.

The instance folder is created only when something is written into it (generated development
keys, the default SQLite database).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

import config as config_module
from config import ConfigError

from .registry_client.client_settings import ClientSettings
from .registry_client.providers import ENDPOINT_SETTINGS
from .services.vault import KeyConfigError, KeyRing, Vault, development_keys

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name


def configure(app: Flask, given: Mapping[str, Any] | type | None) -> None:
    if isinstance(given, Mapping):
        testing = bool(given.get("TESTING"))
        app.config.from_object(
            config_module.TestingConfig if testing else config_module.config_class(given)
        )
        app.config.update(given)
    else:
        app.config.from_object(given or config_module.config_class())
        app.config.update(config_module.from_environment(strings=ENDPOINT_SETTINGS))
        app.config.from_pyfile("config.py", silent=True)
    _derive(app)


def _derive(app: Flask) -> None:
    production = app.config["APP_ENV"] == "production"
    if not app.config.get("SECRET_KEY"):
        if production:
            raise ConfigError("SECRET_KEY must be set when APP_ENV=production")
        app.config["SECRET_KEY"] = _development_secret_key(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        database = _instance_folder(app) / "app.db"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{database}"
    memory_limits = app.config["RATELIMIT_STORAGE_URI"].startswith("memory://")
    if production and app.config["RATELIMIT_ENABLED"] and memory_limits:
        app.logger.warning("RATELIMIT_STORAGE_URI is memory://: limits are per process; use Redis")

    keys = app.config.get("CREDENTIAL_KEYS")
    if not keys:
        if production:
            raise ConfigError("CREDENTIAL_KEYS must be set when APP_ENV=production")
        keys = development_keys(app.instance_path)
    try:
        ring = KeyRing.parse(keys)
    except KeyConfigError as error:
        raise ConfigError(str(error)) from None
    app.extensions["vault"] = Vault(ring)
    try:
        client_settings = ClientSettings.from_config(app.config)
    except ValueError as error:  # the message names the variable
        raise ConfigError(str(error)) from None
    app.extensions["registry_client_settings"] = client_settings


def _instance_folder(app: Flask) -> Path:
    """The instance folder, made the first time something is written into it."""
    folder = Path(app.instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _development_secret_key(instance_path: str) -> str:
    path = Path(instance_path) / SECRET_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
