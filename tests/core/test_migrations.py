"""The one Alembic history builds exactly the models' schema on each back-end, and can be walked down and up."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from portguard.core import migrate
from portguard.core.db import Base
from portguard.models import load_all


def test_migrations_match_the_models(db):
    load_all()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert migrate.current(db.engine) is not None


def test_downgrade_to_base_and_up_again(db):
    migrate.upgrade(db.engine, "head")
    from alembic import command

    config = migrate.alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(db.engine)
    tables = set(inspect(db.engine).get_table_names())
    assert {"organisations", "users", "notes", "audit_entries", "record_recipients"} <= tables
