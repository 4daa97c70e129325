"""Configuration classes, and the one place that reads the environment.

`create_app()` loads a class with `from_object`, then `from_environment` overlays the variables
named in design.md, then an optional `config.py` in the instance folder (`INSTANCE_PATH`, else
`instance/` in the checkout) for local secrets. Nothing here is read at import time. Tests pass
`create_app` a mapping instead, which is then the whole configuration (webapp/configuration.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import timedelta


class ConfigError(RuntimeError):
    """The configuration cannot run; the message names the variable, never its value."""


class BaseConfig:
    APP_ENV = "development"
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None  # default: SQLite in the instance folder
    # Bound parameters stay out of exception messages and logs (they hold ciphertexts).
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"hide_parameters": True}

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    SESSION_COOKIE_NAME = "session"
    # Idle timeout: the session cookie is permanent and renewed on every request.
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=30)
    SESSION_REFRESH_EACH_REQUEST = True
    # ... but a request that changes nothing re-sends the cookie only once it is this old
    # (webapp/sessions.py): the idle timeout is then 29-30 minutes after the last request.
    SESSION_RENEW_AFTER = timedelta(minutes=1)
    # Absolute limit on one sign-in, whatever the activity.
    SESSION_ABSOLUTE_LIFETIME = timedelta(hours=12)
    REMEMBER_COOKIE_DURATION = timedelta(0)

    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 - a method name, not a password
    MAX_CONTENT_LENGTH = 256 * 1024
    WTF_CSRF_TIME_LIMIT = None  # valid for the session's life: long-open pages keep working
    WTF_CSRF_SSL_STRICT = True

    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_FAILURES_PER_ACCOUNT = "10 per 15 minutes"
    LOGIN_FAILURES_PER_ADDRESS = "50 per 15 minutes"
    RUNNER_API_RATE_LIMIT = "1200 per minute"
    RUNNER_API_FAILURES_PER_ADDRESS = "30 per minute"
    CHECK_REQUESTS_PER_USER = "30 per minute"
    CHECK_REQUESTS_PER_ORG = "120 per minute"
    TOOL_ADDS_PER_USER = "30 per minute"
    TOOL_ADDS_PER_ORG = "120 per minute"

    PROXY_FIX_HOPS = 0

    CREDENTIAL_KEYS: str | None = None
    OUTBOUND_ALLOWED_NETWORKS = ""
    REGISTRY_CA_BUNDLE: str | None = None
    ALLOW_INSECURE_REGISTRIES = False
    CHECK_INTERVAL_SECONDS = 900
    CHECK_TIMEOUT_SECONDS = 10.0
    CHECK_CONCURRENCY = 32
    # Pull checks of private tools one org may run at once; the rest wait their turn.
    PULL_CHECKS_PER_ORG = 4
    # Runner API pull tokens: the exchange's deadline, and how many run at once per org.
    PULL_TOKEN_TIMEOUT_SECONDS = 5.0
    PULL_TOKEN_EXCHANGES_PER_ORG = 4
    # Where checks run: "inline", "threads" or "celery"; unset: celery with a broker, else threads.
    CHECK_EXECUTOR: str | None = None
    # How often the sweep runs (the scheduler thread, or Celery beat), give or take a quarter.
    CHECK_SWEEP_SECONDS = 30
    CELERY_BROKER_URL: str | None = None
    CELERY_QUEUE = "registry-checks"

    # The providers' endpoints (DOCKER_HUB_REGISTRY_URL, GHCR_URL, …) default to the real
    # services; each provider module names its own settings (webapp/registry_client/providers/).

    SALES_CONTACT_URL = "mailto:sales@example.com"


class DevelopmentConfig(BaseConfig):
    APP_ENV = "development"


class TestingConfig(BaseConfig):
    APP_ENV = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"  # noqa: S105 - tests only
    RATELIMIT_ENABLED = False
    CHECK_EXECUTOR = "inline"  # deterministic tests; background tests choose "threads"
    # Fast hashes keep fixtures quick; what is tested is sign-in, not scrypt's cost.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # noqa: S105 - a method name
    # Tests talk to the app over https://localhost so the strict Referer check stays on.
    PREFERRED_URL_SCHEME = "https"


class ProductionConfig(BaseConfig):
    APP_ENV = "production"
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-session"
    PREFERRED_URL_SCHEME = "https"


CONFIGS: dict[str, type[BaseConfig]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_class(environ: Mapping[str, str] | None = None) -> type[BaseConfig]:
    environ = os.environ if environ is None else environ
    name = environ.get("APP_ENV", "development").strip().lower()
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(
            f"APP_ENV must be one of {', '.join(sorted(CONFIGS))}; got an unknown value"
        ) from None


def _boolean(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be true or false")


def _number(name: str, value: str, kind: type) -> int | float:
    try:
        number = kind(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number") from None
    if number <= 0 and name != "PROXY_FIX_HOPS":
        raise ConfigError(f"{name} must be greater than zero")
    if number < 0:
        raise ConfigError(f"{name} must not be negative")
    return number


_STRINGS = (
    "SECRET_KEY",
    "CREDENTIAL_KEYS",
    "OUTBOUND_ALLOWED_NETWORKS",
    "REGISTRY_CA_BUNDLE",
    "CHECK_EXECUTOR",
    "CELERY_BROKER_URL",
    "CELERY_QUEUE",
    "RATELIMIT_STORAGE_URI",
    "SALES_CONTACT_URL",
    "RUNNER_API_RATE_LIMIT",
    "RUNNER_API_FAILURES_PER_ADDRESS",
    "CHECK_REQUESTS_PER_USER",
    "CHECK_REQUESTS_PER_ORG",
    "TOOL_ADDS_PER_USER",
    "TOOL_ADDS_PER_ORG",
    "LOGIN_FAILURES_PER_ACCOUNT",
    "LOGIN_FAILURES_PER_ADDRESS",
)
_BOOLEANS = ("ALLOW_INSECURE_REGISTRIES", "RATELIMIT_ENABLED")
_INTEGERS = (
    "CHECK_INTERVAL_SECONDS",
    "CHECK_CONCURRENCY",
    "PULL_CHECKS_PER_ORG",
    "PULL_TOKEN_EXCHANGES_PER_ORG",
    "CHECK_SWEEP_SECONDS",
    "PROXY_FIX_HOPS",
)
_FLOATS = ("CHECK_TIMEOUT_SECONDS", "PULL_TOKEN_TIMEOUT_SECONDS")


def from_environment(
    environ: Mapping[str, str] | None = None, *, strings: Iterable[str] = ()
) -> dict[str, object]:
    """The settings the environment overrides, converted and checked; `strings` names more
    text settings (the providers' endpoints, which their modules name)."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for name in (*_STRINGS, *strings):
        if environ.get(name):
            values[name] = environ[name]
    for name in _BOOLEANS:
        if name in environ:
            values[name] = _boolean(name, environ[name])
    for name in _INTEGERS:
        if environ.get(name):
            values[name] = _number(name, environ[name], int)
    for name in _FLOATS:
        if environ.get(name):
            values[name] = _number(name, environ[name], float)
    if environ.get("DATABASE_URL"):
        values["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(environ["DATABASE_URL"])
    return values


def instance_path(environ: Mapping[str, str] | None = None) -> str | None:
    """`INSTANCE_PATH`, absolute: where the instance folder is (the default SQLite database,
    generated development keys, an optional config.py). None: Flask's default, `instance/`
    beside the package."""
    environ = os.environ if environ is None else environ
    value = environ.get("INSTANCE_PATH", "").strip()
    return os.path.abspath(value) if value else None


def normalise_database_url(url: str) -> str:
    """postgres:// and postgresql:// mean psycopg 3, the driver we ship."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
