"""The data layer on SQLite and PostgreSQL: migrations, and concurrent writers on SQLite."""

import threading

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, select

from tests.support.apps import make_app, make_config
from tests.support.factories import registry_row
from webapp.extensions import db
from webapp.models import Registry
from webapp.services import accounts, credentials


def test_migrations_build_the_whole_schema(backend_url):
    app = make_app(make_config(backend_url))
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"organizations", "users", "memberships", "registries", "connectivity_checks",
                "private_tools", "runner_tokens", "audit_events"} <= tables
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
        # The migrations and the models agree: nothing left to autogenerate.
        assert diff == []
        db.engine.dispose()


def test_migration_0002_blanks_the_old_fingerprints(backend_url):
    """A migration has no credential keys: the old, correlating fingerprints are blanked, and
    `flask keys rotate` or the next replacement computes the new ones.

    The row is written with today's models, then the schema goes back to before 0002 and
    forward again: the models always match the newest schema, not the one under test."""
    app = make_app(make_config(backend_url))
    with app.app_context():
        upgrade()
        org = accounts.create_org("acme", "Acme", "enterprise")
        db.session.flush()
        registry = registry_row(org.id, secret="s3cret", commit=False)
        db.session.commit()
        registry_id = registry.id
        assert registry.secret_fingerprint
        db.session.remove()  # the migrations run on connections of their own
        downgrade(revision="66ccb3bdbd31")
        assert _fingerprints(registry_id) == [registry.secret_fingerprint]
        upgrade(revision="0002_fingerprint_hmac")
        assert _fingerprints(registry_id) == [None]
        upgrade()
        registry = db.session.get(Registry, registry_id)
        assert credentials.read_secret(registry) == "s3cret"  # the secret itself is untouched
        result = app.test_cli_runner().invoke(args=["keys", "rotate"])
        assert result.exit_code == 0, result.output
        db.session.rollback()
        assert registry.secret_fingerprint is not None
        db.session.remove()
        db.engine.dispose()


def _fingerprints(registry_id) -> list:
    """The stored fingerprint, selecting that one column (the schema may be older than the
    models)."""
    table = Registry.__table__
    with db.engine.connect() as connection:
        query = select(table.c.secret_fingerprint).where(table.c.id == registry_id)
        return list(connection.execute(query).scalars())


def test_registry_names_are_unique_per_org_among_active_only(backend_app):
    import uuid

    import pytest
    from sqlalchemy.exc import IntegrityError

    from webapp.models import Registry

    with backend_app.app_context():
        org = accounts.create_org("acme", "Acme", "enterprise")
        db.session.flush()

        def registry(name, state="active", host="r.example.com"):
            return Registry(id=uuid.uuid4(), org_id=org.id, kind="docker_registry", name=name,
                            name_key=name.lower(), host=host, username="u", state=state)

        db.session.add_all([registry("Main"), registry("main", state="draft"),
                            registry("MAIN", state="removed")])
        db.session.commit()
        db.session.add(registry("mAiN", host="other.example.com"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_two_sqlite_writers_at_once_both_succeed(tmp_path):
    app = make_app(make_config(f"sqlite:///{tmp_path / 'busy.db'}"))
    with app.app_context():
        db.create_all()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            with app.test_request_context("/", method="POST"):
                from webapp.database import writing

                with writing():
                    barrier.wait()
                    # Read, then write, in one transaction: the case that fails without
                    # BEGIN IMMEDIATE ("database is locked").
                    accounts.find_org(f"org{number}")
                    accounts.create_org(f"org{number}", f"Org {number}", "team")
                    db.session.flush()
                    threading.Event().wait(0.2)
                    db.session.commit()
                db.session.remove()
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        assert {o.slug for o in db.session.query(accounts.Organization)} == {"org0", "org1"}
        db.engine.dispose()


def test_sqlite_pragmas(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    import webapp.database  # noqa: F401

    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    engine.dispose()


def test_migration_0004_makes_existing_runner_tokens_platform_tokens(backend_url):
    """A token minted before scopes keeps working, as a platform token; a downgrade drops org
    tokens rather than turning them into platform-wide ones."""
    from sqlalchemy import text

    from webapp.services import runner_tokens

    app = make_app(make_config(backend_url))
    with app.app_context():
        upgrade(revision="0007_support_indexes")
        with db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO runner_tokens (name, token_hash, created_at) "
                "VALUES ('old', :hash, CURRENT_TIMESTAMP)"), {"hash": runner_tokens._hash("rt_old")})
        upgrade()
        row = runner_tokens.authenticate("rt_old")
        assert row is not None and row.name == "old" and row.is_platform
        org = accounts.create_org("acme", "Acme", "enterprise")
        db.session.flush()
        runner_tokens.create("old", org=org)  # the same name in an org is fine
        db.session.commit()
        db.session.remove()
        downgrade(revision="0007_support_indexes")
        with db.engine.connect() as connection:
            names = list(connection.execute(text("SELECT name FROM runner_tokens")).scalars())
        assert names == ["old"]
        upgrade()
        db.session.remove()
        db.engine.dispose()
