"""The migrations build exactly the schema the models describe."""
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from extensions import db


def test_migrations_match_the_models(app):
    with app.app_context():
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_audit_records_are_append_only_in_the_database(app, session):
    session.execute(sa.text(
        "INSERT INTO audit_records (at, actor_name, object_type, object_label, action, changes)"
        " VALUES (CURRENT_TIMESTAMP, 'x', 'client', 'x', 'create', '{}')"))
    session.commit()
    for statement in ("UPDATE audit_records SET actor_name = 'someone else'",
                      "DELETE FROM audit_records"):
        try:
            session.execute(sa.text(statement))
            session.flush()
            raised = False
        except sa.exc.DBAPIError as exc:
            raised = "cannot be changed or deleted" in str(exc)
        session.rollback()
        assert raised, statement
