"""Revision 3: ``jobs.host``, the host of the worker that claimed a job, so one job at a time runs per (host, device).

Jobs claimed before this revision get the host part of their worker name ('host:pid', maybe ' (foreground)').
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

WORKER_NAME = re.compile(r"^(.*):\d+(?: \(foreground\))?$")


def upgrade() -> None:
    op.add_column("jobs", sa.Column("host", sa.String(length=255), nullable=False, server_default=""))
    jobs = sa.table("jobs", sa.column("id", sa.Integer), sa.column("worker", sa.String),
                    sa.column("host", sa.String))
    connection = op.get_bind()
    for job_id, worker in connection.execute(sa.select(jobs.c.id, jobs.c.worker).where(jobs.c.worker != "")).all():
        found = WORKER_NAME.match(worker or "")
        if found:
            connection.execute(sa.update(jobs).where(jobs.c.id == job_id).values(host=found.group(1)[:255]))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("host")
