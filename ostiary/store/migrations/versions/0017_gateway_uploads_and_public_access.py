"""gateway_uploads: how each S3 multipart upload made through the gateway with SSE-KMS is encrypted;
gateway_public_access: each account's S3 Block Public Access settings

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_uploads",
        sa.Column("bucket", sa.String(length=255), nullable=False),
        sa.Column("upload_id", sa.String(length=512), nullable=False),
        sa.Column("algorithm", sa.String(length=32), nullable=False),
        sa.Column("kms_key_id", sa.String(length=2048), nullable=True),
        sa.Column("bucket_key", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "upload_id", name=op.f("pk_gateway_uploads")),
    )
    op.create_table(
        "gateway_public_access",
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("block_public_acls", sa.Boolean(), nullable=False),
        sa.Column("ignore_public_acls", sa.Boolean(), nullable=False),
        sa.Column("block_public_policy", sa.Boolean(), nullable=False),
        sa.Column("restrict_public_buckets", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_gateway_public_access")),
    )


def downgrade() -> None:
    op.drop_table("gateway_public_access")
    op.drop_table("gateway_uploads")
