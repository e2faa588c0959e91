"""Revision 5: real reports: ``sentences.kind`` marks layout-noise blocks (code, rules, indicator lists) kept whole in a
report; ``reports.other_sources`` lists the files merged into a report as the same document in another format, and
``reports.fingerprint`` holds the MinHash that finds such near-duplicates.

Existing sentences become prose ("text"); existing reports have no other source and get their fingerprint when the
next import compares against them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sentences", sa.Column("kind", sa.String(length=20), nullable=False, server_default="text"))
    op.add_column("reports", sa.Column("other_sources", sa.JSON(), nullable=True))
    op.add_column("reports", sa.Column("fingerprint", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("fingerprint")
        batch.drop_column("other_sources")
    with op.batch_alter_table("sentences") as batch:
        batch.drop_column("kind")
