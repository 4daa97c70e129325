"""The application factory."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(
    config: Mapping[str, Any] | type | None = None, *, instance_path: str | Path | None = None
) -> Flask:
    """Build the app. Starts no thread and opens no connection beyond what a request needs.

    `config`: None (the environment chooses), a config class (then the environment and the
    instance file apply), or a mapping that is the whole configuration, read from nothing else
    (tests and benchmarks; see webapp/configuration.py). `instance_path`: the instance folder;
    by default `INSTANCE_PATH` unless `config` is a mapping, else `instance/` in the checkout.
    """
    import config as config_module

    from . import configuration

    if instance_path is None and not isinstance(config, Mapping):
        instance_path = config_module.instance_path()
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    configuration.configure(app, config)

    from .sessions import RenewingSessionInterface

    app.session_interface = RenewingSessionInterface()

    from . import database  # noqa: F401  (SQLite connection events)
    from .extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)

    from . import (
        access,
        errors,
        field_markup,
        icons,
        jobs,
        request_hooks,
        security,
        templating,
        urls,
        widget_attributes,
    )
    from .registries import rows as registry_rows

    jobs.init_app(app)
    request_hooks.init_app(app)
    templating.init_app(app)
    field_markup.init_app(app)
    icons.init_app(app)
    registry_rows.init_app(app)  # after icons: its rows take `registry_icon`
    widget_attributes.install()
    urls.init_app(app)
    access.init_app(app)
    security.init_app(app)
    errors.init_app(app)

    from .api import bp as api_bp
    from .api import docs_bp as api_docs_bp
    from .audit import bp as audit_bp
    from .auth import bp as auth_bp
    from .registries import bp as registries_bp
    from .runner_tokens import bp as runner_tokens_bp
    from .settings import bp as settings_bp
    from .support import bp as support_bp
    from .tools import bp as tools_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(settings_bp)
    app.register_blueprint(registries_bp)
    app.register_blueprint(tools_bp)
    app.register_blueprint(runner_tokens_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(support_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_docs_bp)

    from . import cli

    cli.init_app(app)
    return app
