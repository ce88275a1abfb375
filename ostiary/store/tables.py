"""Every table on one MetaData. Names are stored as given; `*_key` columns hold the lower-cased name
so that IAM's case-insensitive uniqueness is a database constraint, safe under concurrent writers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _ts(name: str, nullable: bool = True) -> Column[Any]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


accounts = Table(
    "accounts",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("alias", String(63), unique=True),
    Column("password_policy", Text),  # JSON of the account password policy, or NULL for none
    Column("policy_epoch", BigInteger, nullable=False, default=0),  # bumped when any permission changes
    _ts("created_at", nullable=False),
    # SetSecurityTokenServicePreferences: the global endpoint's token version, NULL for AWS's default 1
    Column("global_endpoint_token_version", Integer),
)

users = Table(
    "users",
    metadata,
    Column("user_id", String(32), primary_key=True),  # AIDA...
    Column("account_id", String(12), ForeignKey("accounts.account_id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("name_key", String(64), nullable=False),
    Column("path", String(512), nullable=False),
    Column("permissions_boundary", String(2048)),
    _ts("created_at", nullable=False),
    _ts("password_last_used_at"),
    UniqueConstraint("account_id", "name_key", name="uq_users_account_name"),
)

groups = Table(
    "groups",
    metadata,
    Column("group_id", String(32), primary_key=True),  # AGPA...
    Column("account_id", String(12), ForeignKey("accounts.account_id"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("name_key", String(128), nullable=False),
    Column("path", String(512), nullable=False),
    _ts("created_at", nullable=False),
    UniqueConstraint("account_id", "name_key", name="uq_groups_account_name"),
)

group_members = Table(
    "group_members",
    metadata,
    Column("group_id", String(32), ForeignKey("groups.group_id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True),
    Column("position", BigInteger, nullable=False, default=0),
)

roles = Table(
    "roles",
    metadata,
    Column("role_id", String(32), primary_key=True),  # AROA...
    Column("account_id", String(12), ForeignKey("accounts.account_id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("name_key", String(64), nullable=False),
    Column("path", String(512), nullable=False),
    Column("trust_policy", Text, nullable=False),
    Column("description", String(1000)),
    Column("max_session_duration", Integer, nullable=False, default=3600),
    Column("max_signin_session_duration", Integer),  # AWS Sign-In session length; NULL: unset
    Column("permissions_boundary", String(2048)),
    Column("service_linked", String(128)),  # the service name for service-linked roles, else NULL
    _ts("created_at", nullable=False),
    _ts("last_used_at"),
    Column("last_used_region", String(32)),
    UniqueConstraint("account_id", "name_key", name="uq_roles_account_name"),
)

managed_policies = Table(
    "managed_policies",
    metadata,
    Column("policy_id", String(32), primary_key=True),  # ANPA...
    Column("account_id", String(12), nullable=False),  # "aws" for AWS managed policies
    Column("arn", String(2048), nullable=False, unique=True),
    Column("name", String(128), nullable=False),
    Column("name_key", String(128), nullable=False),
    Column("path", String(512), nullable=False),
    Column("description", String(1000)),
    Column("default_version", String(16), nullable=False),
    Column("next_version", Integer, nullable=False, default=2),
    Column("is_attachable", Boolean, nullable=False, default=True),
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
    UniqueConstraint("account_id", "name_key", name="uq_managed_policies_account_name"),
)

policy_versions = Table(
    "policy_versions",
    metadata,
    Column(
        "policy_id",
        String(32),
        ForeignKey("managed_policies.policy_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("version_id", String(16), primary_key=True),  # v1, v2 ...
    Column("document", Text, nullable=False),
    _ts("created_at", nullable=False),
)

# entity_type is "user", "group" or "role"; entity_id its unique id.
policy_attachments = Table(
    "policy_attachments",
    metadata,
    Column("policy_id", String(32), ForeignKey("managed_policies.policy_id"), primary_key=True),
    Column("entity_type", String(16), primary_key=True),
    Column("entity_id", String(32), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("position", BigInteger, nullable=False, default=0),
)

inline_policies = Table(
    "inline_policies",
    metadata,
    Column("entity_type", String(16), primary_key=True),
    Column("entity_id", String(32), primary_key=True),
    Column("name_key", String(128), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("document", Text, nullable=False),
)

access_keys = Table(
    "access_keys",
    metadata,
    Column("access_key_id", String(32), primary_key=True),  # AKIA...
    Column("account_id", String(12), ForeignKey("accounts.account_id"), nullable=False),
    Column("user_id", String(32), ForeignKey("users.user_id", ondelete="CASCADE")),  # NULL: the root
    Column("secret_sealed", LargeBinary, nullable=False),  # AES-GCM under the keyring
    Column("status", String(16), nullable=False),
    _ts("created_at", nullable=False),
    _ts("last_used_at"),
    Column("last_used_service", String(64)),
    Column("last_used_region", String(32)),
)

login_profiles = Table(
    "login_profiles",
    metadata,
    Column("user_id", String(32), ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True),
    Column("password_hash", String(256), nullable=False),  # argon2id
    Column("password_reset_required", Boolean, nullable=False, default=False),
    Column("max_signin_session_duration", Integer),  # AWS Sign-In session length; NULL: unset
    _ts("created_at", nullable=False),
    _ts("password_changed_at", nullable=False),
)

password_history = Table(  # a user's previous password hashes, for PasswordReusePrevention (24 at most)
    "password_history",
    metadata,
    Column("history_id", Integer, primary_key=True, autoincrement=True),  # newest is highest
    Column(
        "user_id", String(32), ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("password_hash", String(256), nullable=False),  # argon2id
    _ts("changed_at", nullable=False),
)

instance_profiles = Table(
    "instance_profiles",
    metadata,
    Column("instance_profile_id", String(32), primary_key=True),  # AIPA...
    Column("account_id", String(12), ForeignKey("accounts.account_id"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("name_key", String(128), nullable=False),
    Column("path", String(512), nullable=False),
    _ts("created_at", nullable=False),
    UniqueConstraint("account_id", "name_key", name="uq_instance_profiles_account_name"),
)

instance_profile_roles = Table(
    "instance_profile_roles",
    metadata,
    Column(
        "instance_profile_id",
        String(32),
        ForeignKey("instance_profiles.instance_profile_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("role_id", String(32), ForeignKey("roles.role_id"), primary_key=True),
)

# Tags of any taggable entity; entity_type is user, role, policy, instance-profile, oidc-provider,
# saml-provider, mfa, server-certificate; entity_id its unique id (or ARN where it has none).
tags = Table(
    "tags",
    metadata,
    Column("entity_type", String(32), primary_key=True),
    Column("entity_id", String(2048), primary_key=True),
    Column("key_lower", String(256), primary_key=True),  # a key of 128 `İ` lower-cases to 256 characters
    Column("key", String(128), nullable=False),
    Column("value", String(256), nullable=False),
    Column("position", BigInteger, nullable=False, default=0),
)

# -- MFA devices, identity providers, service-linked role deletions (migration 0002) ----------

# Virtual MFA devices: the TOTP seed sealed with the keyring (purpose b"mfa-seed:" + serial number);
# last_time_step is the newest accepted TOTP step, so that a code is accepted at most once;
# drift_steps is the device's clock offset learnt by ResyncMFADevice.
mfa_devices = Table(
    "mfa_devices",
    metadata,
    Column("serial_number", String(256), primary_key=True),  # arn:aws:iam::ACCT:mfa/path/name
    Column("account_id", String(12), ForeignKey("accounts.account_id"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("name_key", String(256), nullable=False),
    Column("path", String(512), nullable=False),
    Column("seed_sealed", LargeBinary, nullable=False),
    Column("user_id", String(32), ForeignKey("users.user_id", ondelete="SET NULL")),  # NULL: unassigned
    _ts("enabled_at"),
    Column("last_time_step", BigInteger),
    Column("drift_steps", Integer, nullable=False, default=0),
    _ts("created_at", nullable=False),
    UniqueConstraint("account_id", "name_key", name="uq_mfa_devices_account_name"),
)

oidc_providers = Table(
    "oidc_providers",
    metadata,
    Column("arn", String(2048), primary_key=True),  # arn:aws:iam::ACCT:oidc-provider/host/path
    Column("account_id", String(12), ForeignKey("accounts.account_id"), nullable=False),
    Column("url", String(255), nullable=False),  # as given, with its https:// scheme
    _ts("created_at", nullable=False),
    Column("context_provider", Text),  # trusted identity propagation: AWS's ContextProvider, as JSON
    Column("identity_center_instance_arn", String(1224)),
)

oidc_client_ids = Table(
    "oidc_client_ids",
    metadata,
    Column("arn", String(2048), ForeignKey("oidc_providers.arn", ondelete="CASCADE"), primary_key=True),
    Column("client_id", String(255), primary_key=True),
    Column("position", BigInteger, nullable=False, default=0),
)

oidc_thumbprints = Table(
    "oidc_thumbprints",
    metadata,
    Column("arn", String(2048), ForeignKey("oidc_providers.arn", ondelete="CASCADE"), primary_key=True),
    Column("thumbprint", String(40), primary_key=True),
    Column("position", BigInteger, nullable=False, default=0),
)

saml_providers = Table(
    "saml_providers",
    metadata,
    Column("arn", String(2048), primary_key=True),  # arn:aws:iam::ACCT:saml-provider/Name
    Column("account_id", String(12), ForeignKey("accounts.account_id"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("provider_uuid", String(64), nullable=False),
    Column("metadata_document", Text, nullable=False),  # the IdP metadata XML, as given
    Column("assertion_encryption_mode", String(16), nullable=False, default="Allowed"),
    _ts("valid_until"),
    _ts("created_at", nullable=False),
    Column("context_provider", Text),  # trusted identity propagation: AWS's ContextProvider, as JSON
    Column("identity_center_instance_arn", String(1224)),
)

slr_deletion_tasks = Table(
    "slr_deletion_tasks",
    metadata,
    Column("task_id", String(1000), primary_key=True),  # task/aws-service-role/<service>/<role>/<uuid>
    Column("account_id", String(12), ForeignKey("accounts.account_id"), nullable=False),
    Column("status", String(16), nullable=False),  # SUCCEEDED, IN_PROGRESS, FAILED, NOT_STARTED
    Column("reason", Text),  # JSON of the DeletionTaskFailureReasonType when FAILED
    _ts("created_at", nullable=False),
)

# Failed MFA codes and passwords per subject (`mfa-device:<serial>`, `mfa-user:<user id>`,
# `password:<user id>`, `console:<account>:<name>`, `console-root:<account>`), shared by every node; see
# services/throttle.py.
failed_attempts = Table(
    "failed_attempts",
    metadata,
    Column("subject", String(400), primary_key=True),
    Column("failures", Integer, nullable=False, default=0),  # in the window that started at window_started_at
    Column("blocks", Integer, nullable=False, default=0),  # pauses in a row: each doubles the next
    _ts("window_started_at"),
    Column("last_failure_at", DateTime(timezone=True), index=True),  # quiet subjects are dropped
    _ts("blocked_until"),
)

# -- SSH public keys, signing certificates, service-specific credentials, server certificates
# (migration 0006). A user's rows follow its user_id, so a renamed user keeps them.

ssh_public_keys = Table(
    "ssh_public_keys",
    metadata,
    Column("ssh_public_key_id", String(32), primary_key=True),  # APKA...
    Column("account_id", String(12), ForeignKey("accounts.account_id"), nullable=False),
    Column(
        "user_id", String(32), ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("body", Text, nullable=False),  # the key as uploaded, in its SSH encoding
    Column("fingerprint", String(64), nullable=False),  # MD5 of the key blob, colon-separated hex
    Column("status", String(16), nullable=False),
    _ts("uploaded_at", nullable=False),
    UniqueConstraint("user_id", "fingerprint", name="uq_ssh_public_keys_user_fingerprint"),
)

signing_certificates = Table(
    "signing_certificates",
    metadata,
    Column("certificate_id", String(128), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.account_id"), nullable=False),
    Column("user_id", String(32), ForeignKey("users.user_id", ondelete="CASCADE"), index=True),  # NULL: root
    Column("body", Text, nullable=False),  # PEM, as uploaded
    Column("fingerprint", String(64), nullable=False),  # SHA-256 of the DER: one upload per account
    Column("status", String(16), nullable=False),
    _ts("uploaded_at", nullable=False),
    UniqueConstraint("account_id", "fingerprint", name="uq_signing_certificates_account_fingerprint"),
)

# The password sealed with the keyring (purpose b"service-credential:" + credential id).
service_specific_credentials = Table(
    "service_specific_credentials",
    metadata,
    Column("credential_id", String(32), primary_key=True),  # ACCA...
    Column("account_id", String(12), ForeignKey("accounts.account_id"), nullable=False),
    Column(
        "user_id", String(32), ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("service_name", String(128), nullable=False),
    Column("service_user_name", String(200), nullable=False),  # fixed at creation: a rename keeps it
    Column("secret_sealed", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),
    _ts("created_at", nullable=False),
    _ts("expires_at"),
)

# The private key sealed with the keyring (purpose b"server-certificate:" + certificate id); tags
# live in `tags` (entity_type server-certificate, entity_id the certificate id).
server_certificates = Table(
    "server_certificates",
    metadata,
    Column("server_certificate_id", String(32), primary_key=True),  # ASCA...
    Column("account_id", String(12), ForeignKey("accounts.account_id"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("name_key", String(128), nullable=False),
    Column("path", String(512), nullable=False),
    Column("body", Text, nullable=False),
    Column("chain", Text),
    Column("private_key_sealed", LargeBinary, nullable=False),
    _ts("expires_at", nullable=False),
    _ts("uploaded_at", nullable=False),
    UniqueConstraint("account_id", "name_key", name="uq_server_certificates_account_name"),
)

# GetAccountSummary's counts of the kinds an account has many of, kept by triggers in the transaction of
# every insert and delete (migration 0015): derived data, left out of backups and rebuilt by a restore.
account_counts = Table(
    "account_counts",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("kind", String(32), primary_key=True),  # the summary's key: Users, Roles, ...
    Column("count", BigInteger, nullable=False),
)

# Entities found by (account, lower-cased name): each kind's table and unique-id column.
NAMED_ENTITIES: dict[str, tuple[Table, str]] = {
    "user": (users, "user_id"),
    "group": (groups, "group_id"),
    "role": (roles, "role_id"),
    "instance-profile": (instance_profiles, "instance_profile_id"),
    "server-certificate": (server_certificates, "server_certificate_id"),
}

account_properties = Table(  # GetAccountProperties/PutAccountProperties: `Namespace/PropertyName` → value
    "account_properties",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.account_id"), primary_key=True),
    Column("property_key", String(50), primary_key=True),
    Column("value", String(1024), nullable=False),
    _ts("updated_at", nullable=False),
)
