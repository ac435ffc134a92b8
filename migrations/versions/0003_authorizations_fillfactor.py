"""PostgreSQL: authorization rows keep 15 % of each page free (fillfactor 85), so an update that
changes no indexed column (a note's pending units, alert levels, last edited at/by, version) is
a heap-only tuple update: written in place, without a new entry in each of the table's indexes.
Update Codes Listed over 10,000 auths spent most of its time inserting index entries
(bench: docs/PERFORMANCE.md). Applies to rows written from now on (VACUUM FULL rewrites the
rest). SQLite has no such setting.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE authorizations SET (fillfactor = 85)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE authorizations RESET (fillfactor)")
