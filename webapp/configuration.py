"""Putting the app's configuration together: class, environment, instance file, or the caller's."""

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


def configure(app: Flask, overrides: Mapping[str, Any] | type | None) -> None:
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if isinstance(overrides, type):
        app.config.from_object(overrides)
        overrides = None
    elif overrides is not None and overrides.get("TESTING"):
        app.config.from_object(config_module.TestingConfig)
    else:
        app.config.from_object(config_module.config_class())
    app.config.update(config_module.from_environment(strings=ENDPOINT_SETTINGS))
    app.config.from_pyfile("config.py", silent=True)
    if overrides:
        app.config.update(overrides)

    production = app.config["APP_ENV"] == "production"
    if not app.config.get("SECRET_KEY"):
        if production:
            raise ConfigError("SECRET_KEY must be set when APP_ENV=production")
        app.config["SECRET_KEY"] = _development_secret_key(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        database = Path(app.instance_path) / "app.db"
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


def _development_secret_key(instance_path: str) -> str:
    path = Path(instance_path) / SECRET_KEY_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
