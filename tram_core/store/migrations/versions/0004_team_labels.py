"""Revision 4: team labelling: the share of sentences two annotators label independently, their independent answers,
the adjudications of answers that differ, and what analysts did with the model's suggestions.

Four new tables (``double_annotation_shares``, ``independent_answers``, ``adjudications``, ``suggestion_decisions``);
nothing stored before changes, so every existing database upgrades without touching its rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("double_annotation_shares", "independent_answers", "adjudications", "suggestion_decisions")


def _double_annotation_shares() -> None:
    op.create_table('double_annotation_shares',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=True),
        sa.Column('percent', sa.Float(), nullable=False),
        sa.Column('annotators', sa.JSON(), nullable=False),
        sa.Column('set_by', sa.String(length=200), nullable=False),
        sa.Column('set_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_double_annotation_shares_report_id'), 'double_annotation_shares', ['report_id'],
                    unique=False)


def _independent_answers() -> None:
    op.create_table('independent_answers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sentence_id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('user', sa.String(length=200), nullable=False),
        sa.Column('labels', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('answered_at', sa.DateTime(), nullable=False),
        sa.Column('changed_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['sentence_id'], ['sentences.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('sentence_id', 'user')
    )
    op.create_index(op.f('ix_independent_answers_report_id'), 'independent_answers', ['report_id'], unique=False)
    op.create_index(op.f('ix_independent_answers_sentence_id'), 'independent_answers', ['sentence_id'], unique=False)


def _adjudications() -> None:
    op.create_table('adjudications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sentence_id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('decided_by', sa.String(length=200), nullable=False),
        sa.Column('decided_at', sa.DateTime(), nullable=False),
        sa.Column('choice', sa.String(length=20), nullable=False),
        sa.Column('final_labels', sa.JSON(), nullable=False),
        sa.Column('first_user', sa.String(length=200), nullable=False),
        sa.Column('first_labels', sa.JSON(), nullable=False),
        sa.Column('second_user', sa.String(length=200), nullable=False),
        sa.Column('second_labels', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['sentence_id'], ['sentences.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('sentence_id')
    )
    op.create_index(op.f('ix_adjudications_report_id'), 'adjudications', ['report_id'], unique=False)


def _suggestion_decisions() -> None:
    op.create_table('suggestion_decisions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sentence_id', sa.Integer(), nullable=False),
        sa.Column('model_id', sa.Integer(), nullable=False),
        sa.Column('technique_id', sa.String(length=20), nullable=False),
        sa.Column('decision', sa.String(length=10), nullable=False),
        sa.Column('predicted', sa.Boolean(), nullable=False),
        sa.Column('score', sa.Float(), nullable=True),
        sa.Column('user', sa.String(length=200), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['model_id'], ['models.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_suggestion_decisions_at'), 'suggestion_decisions', ['at'], unique=False)
    op.create_index(op.f('ix_suggestion_decisions_model_id'), 'suggestion_decisions', ['model_id'], unique=False)
    op.create_index(op.f('ix_suggestion_decisions_sentence_id'), 'suggestion_decisions', ['sentence_id'],
                    unique=False)


def upgrade() -> None:
    _double_annotation_shares()
    _independent_answers()
    _adjudications()
    _suggestion_decisions()


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
