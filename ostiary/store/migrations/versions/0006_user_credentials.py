"""ssh public keys, signing certificates, service-specific credentials, server certificates

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_certificates",
        sa.Column("server_certificate_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("name_key", sa.String(length=128), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("chain", sa.Text(), nullable=True),
        sa.Column("private_key_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name=op.f("fk_server_certificates_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("server_certificate_id", name=op.f("pk_server_certificates")),
        sa.UniqueConstraint("account_id", "name_key", name="uq_server_certificates_account_name"),
    )
    op.create_table(
        "service_specific_credentials",
        sa.Column("credential_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("service_name", sa.String(length=128), nullable=False),
        sa.Column("service_user_name", sa.String(length=200), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_service_specific_credentials_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_service_specific_credentials_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("credential_id", name=op.f("pk_service_specific_credentials")),
    )
    with op.batch_alter_table("service_specific_credentials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_specific_credentials_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "signing_certificates",
        sa.Column("certificate_id", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name=op.f("fk_signing_certificates_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_signing_certificates_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("certificate_id", name=op.f("pk_signing_certificates")),
        sa.UniqueConstraint("account_id", "fingerprint", name="uq_signing_certificates_account_fingerprint"),
    )
    with op.batch_alter_table("signing_certificates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signing_certificates_user_id"), ["user_id"], unique=False)

    op.create_table(
        "ssh_public_keys",
        sa.Column("ssh_public_key_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.account_id"], name=op.f("fk_ssh_public_keys_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_ssh_public_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ssh_public_key_id", name=op.f("pk_ssh_public_keys")),
        sa.UniqueConstraint("user_id", "fingerprint", name="uq_ssh_public_keys_user_fingerprint"),
    )
    with op.batch_alter_table("ssh_public_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ssh_public_keys_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ssh_public_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ssh_public_keys_user_id"))

    op.drop_table("ssh_public_keys")
    with op.batch_alter_table("signing_certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_certificates_user_id"))

    op.drop_table("signing_certificates")
    with op.batch_alter_table("service_specific_credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_specific_credentials_user_id"))

    op.drop_table("service_specific_credentials")
    op.drop_table("server_certificates")
