"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.coltypes


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cluster_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('config', sa.Text(), nullable=False),
    sa.Column('state', sa.LargeBinary(), nullable=False),
    sa.Column('updated_at', storage.coltypes.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cluster_state'))
    )
    op.create_table('digests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('markdown', sa.Text(), nullable=False),
    sa.Column('created_at', storage.coltypes.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digests')),
    sa.UniqueConstraint('day', name=op.f('uq_digests_day'))
    )
    op.create_table('feeds',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('config_url', sa.String(length=2048), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('country', sa.String(length=10), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('etag', sa.String(length=1024), nullable=True),
    sa.Column('last_modified', sa.String(length=100), nullable=True),
    sa.Column('body_hash', sa.String(length=64), nullable=True),
    sa.Column('last_fetched_at', storage.coltypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', storage.coltypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('consecutive_errors', sa.Integer(), nullable=False),
    sa.Column('consecutive_gone', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', storage.coltypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('gone', sa.Boolean(), nullable=False),
    sa.Column('redirect_url', sa.String(length=2048), nullable=True),
    sa.Column('created_at', storage.coltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.coltypes.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feeds'))
    )
    op.create_table('locks',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('acquired_at', storage.coltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', storage.coltypes.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_locks'))
    )
    op.create_table('tracked_days',
    sa.Column('tracked_id', sa.String(length=100), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('article_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('tracked_id', 'day', name=op.f('pk_tracked_days'))
    )
    op.create_table('articles',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('feed_id', sa.String(length=100), nullable=True),
    sa.Column('outlet', sa.String(length=300), nullable=False),
    sa.Column('entry_key', sa.String(length=255), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=True),
    sa.Column('canonical_url', sa.String(length=2048), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('published_at', storage.coltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('date_estimated', sa.Boolean(), nullable=False),
    sa.Column('fetched_at', storage.coltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('duplicate_of', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('duplicate_similarity', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['duplicate_of'], ['articles.id'], name=op.f('fk_articles_duplicate_of_articles'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['feed_id'], ['feeds.id'], name=op.f('fk_articles_feed_id_feeds'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_articles')),
    sa.UniqueConstraint('canonical_url', name=op.f('uq_articles_canonical_url')),
    sa.UniqueConstraint('source', 'entry_key', name=op.f('uq_articles_source_entry_key'))
    )
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.create_index('ix_articles_content_hash', ['content_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_articles_duplicate_of'), ['duplicate_of'], unique=False)
        batch_op.create_index(batch_op.f('ix_articles_feed_id'), ['feed_id'], unique=False)
        batch_op.create_index('ix_articles_published_at', ['published_at'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('digest_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('message_id', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_at', storage.coltypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', storage.coltypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['digest_id'], ['digests.id'], name=op.f('fk_deliveries_digest_id_digests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('digest_id', 'recipient', name=op.f('uq_deliveries_digest_id_recipient'))
    )
    op.create_table('article_bands',
    sa.Column('article_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('band', sa.Integer(), nullable=False),
    sa.Column('band_key', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_article_bands_article_id_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('article_id', 'band', name=op.f('pk_article_bands'))
    )
    with op.batch_alter_table('article_bands', schema=None) as batch_op:
        batch_op.create_index('ix_article_bands_band_key', ['band', 'band_key'], unique=False)

    op.create_table('mentions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('article_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('term', sa.String(length=100), nullable=False),
    sa.Column('alias', sa.String(length=300), nullable=False),
    sa.Column('start', sa.Integer(), nullable=False),
    sa.Column('end', sa.Integer(), nullable=False),
    sa.Column('snippet', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_mentions_article_id_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mentions')),
    sa.UniqueConstraint('article_id', 'term', 'start', name=op.f('uq_mentions_article_id_term_start'))
    )
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.create_index('ix_mentions_term', ['term'], unique=False)

    op.create_table('narratives',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('key_phrases', sa.JSON(), nullable=False),
    sa.Column('representative_article_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('outlets', sa.JSON(), nullable=False),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.Column('passages', sa.JSON(), nullable=False),
    sa.Column('first_seen', storage.coltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen', storage.coltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('active_days', sa.Integer(), nullable=False),
    sa.Column('article_count', sa.Integer(), nullable=False),
    sa.Column('merged_into', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', storage.coltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.coltypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merged_into'], ['narratives.id'], name=op.f('fk_narratives_merged_into_narratives'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['representative_article_id'], ['articles.id'], name=op.f('fk_narratives_representative_article_id_articles'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_narratives'))
    )
    with op.batch_alter_table('narratives', schema=None) as batch_op:
        batch_op.create_index('ix_narratives_last_seen', ['last_seen'], unique=False)

    op.create_table('tracked_scores',
    sa.Column('article_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tracked_id', sa.String(length=100), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_tracked_scores_article_id_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('article_id', 'tracked_id', name=op.f('pk_tracked_scores'))
    )
    with op.batch_alter_table('tracked_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tracked_scores_tracked_id'), ['tracked_id'], unique=False)

    op.create_table('narrative_articles',
    sa.Column('narrative_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('article_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('similarity', sa.Float(), nullable=False),
    sa.Column('joined_at', storage.coltypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_narrative_articles_article_id_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['narrative_id'], ['narratives.id'], name=op.f('fk_narrative_articles_narrative_id_narratives'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('narrative_id', 'article_id', name=op.f('pk_narrative_articles')),
    sa.UniqueConstraint('article_id', name=op.f('uq_narrative_articles_article_id'))
    )
    op.create_table('narrative_days',
    sa.Column('narrative_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('article_count', sa.Integer(), nullable=False),
    sa.Column('outlet_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['narrative_id'], ['narratives.id'], name=op.f('fk_narrative_days_narrative_id_narratives'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('narrative_id', 'day', name=op.f('pk_narrative_days'))
    )
    op.create_table('narrative_merges',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('from_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('into_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('similarity', sa.Float(), nullable=False),
    sa.Column('articles_moved', sa.Integer(), nullable=False),
    sa.Column('merged_at', storage.coltypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['from_id'], ['narratives.id'], name=op.f('fk_narrative_merges_from_id_narratives'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['into_id'], ['narratives.id'], name=op.f('fk_narrative_merges_into_id_narratives'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_narrative_merges'))
    )


def downgrade() -> None:
    op.drop_table('narrative_merges')
    op.drop_table('narrative_days')
    op.drop_table('narrative_articles')
    with op.batch_alter_table('tracked_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tracked_scores_tracked_id'))

    op.drop_table('tracked_scores')
    with op.batch_alter_table('narratives', schema=None) as batch_op:
        batch_op.drop_index('ix_narratives_last_seen')

    op.drop_table('narratives')
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.drop_index('ix_mentions_term')

    op.drop_table('mentions')
    with op.batch_alter_table('article_bands', schema=None) as batch_op:
        batch_op.drop_index('ix_article_bands_band_key')

    op.drop_table('article_bands')
    op.drop_table('deliveries')
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_index('ix_articles_published_at')
        batch_op.drop_index(batch_op.f('ix_articles_feed_id'))
        batch_op.drop_index(batch_op.f('ix_articles_duplicate_of'))
        batch_op.drop_index('ix_articles_content_hash')

    op.drop_table('articles')
    op.drop_table('tracked_days')
    op.drop_table('locks')
    op.drop_table('feeds')
    op.drop_table('digests')
    op.drop_table('cluster_state')
