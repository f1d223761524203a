"""feeds.entry_hashes

The digests of the entries of each feed's last stored body (jirga.unchanged): the next poll
leaves those entries out before parsing. Empty for every feed at first, so the first poll after
the upgrade parses everything, as before.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column is added in place on both dialects: no table is rebuilt.
    op.add_column("feeds", sa.Column("entry_hashes", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # In place (SQLite 3.35 and later): a batch rebuild of feeds would break the views of
        # 0002 that read it.
        op.execute("ALTER TABLE feeds DROP COLUMN entry_hashes")
    else:
        op.drop_column("feeds", "entry_hashes")
