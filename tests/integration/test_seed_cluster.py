"""The seed's "Complete Verification Script" for a cluster (its STS and metadata parts), run as a workload.

The cluster is `ostiary imds` bound to an instance profile whose role trusts EC2; the script runs in a
subprocess with no AWS credentials: boto3 finds them through the metadata endpoint, whose address
comes from the environment (AWS_EC2_METADATA_SERVICE_ENDPOINT) instead of 169.254.169.254.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import Server
from tests.integration.imds_helpers import EC2_TRUST, clean_env, running_imds

VERIFICATION_SCRIPT = r"""
import os
import boto3
import requests

print("🔍 Checking IAM Role Configuration...\n")

# Method 1: Check via STS
try:
    sts = boto3.client('sts')
    identity = sts.get_caller_identity()
    print("✅ IAM Role is attached!")
    print(f"   ARN: {identity['Arn']}")
    print(f"   Account: {identity['Account']}")
except Exception as e:
    print(f"❌ No IAM role detected: {str(e)}")

# Method 2: Check via metadata (the address from the environment, not 169.254.169.254)
try:
    base = os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"].rstrip("/")
    metadata_url = f"{base}/latest/meta-data/iam/security-credentials/"
    response = requests.get(metadata_url, timeout=1)
    if response.status_code == 200:
        role_name = response.text.strip()
        print(f"\n✅ Instance Profile Role: {role_name}")
except Exception as e:
    print(f"\n❌ Cannot access metadata: {str(e)}")
"""

EXPORT_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:ListBucket"],
                "Resource": ["arn:aws:s3:::my-export-bucket", "arn:aws:s3:::my-export-bucket/*"],
            },
            {
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "arn:aws:kms:us-east-1:123456789012:key/abcd-efgh-1234-5678",
            },
        ],
    }
)


def _run_script(server: Server, metadata: str, home: Path) -> str:
    env = clean_env(metadata, home) | {
        "AWS_ENDPOINT_URL_STS": server.endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    done = subprocess.run(
        [sys.executable, "-c", VERIFICATION_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_cluster_verification_script_reports_role_and_identity(
    server: Server, iam: Any, unique: str, tmp_path: Path
) -> None:
    role = f"databricks-ec2-role-{unique}"
    profile = f"databricks-instance-profile-{unique}"
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=EC2_TRUST)
    iam.put_role_policy(RoleName=role, PolicyName="DynamoDBExport", PolicyDocument=EXPORT_POLICY)
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    instance = "i-1234567890abcdef0"
    with running_imds(server, profile, instance) as metadata:
        output = _run_script(server, metadata, tmp_path)
    print(output)  # the script's own report: the role and the caller identity
    assert "✅ IAM Role is attached!" in output
    assert f"   ARN: arn:aws:sts::{server.account_id}:assumed-role/{role}/{instance}" in output
    assert f"   Account: {server.account_id}" in output
    assert f"✅ Instance Profile Role: {role}" in output
    assert "❌" not in output


def test_cluster_without_a_trusted_role_reports_none(
    server: Server, iam: Any, unique: str, tmp_path: Path
) -> None:
    role = f"not-for-ec2-{unique}"
    trust = EC2_TRUST.replace("ec2.amazonaws.com", "dynamodb.amazonaws.com")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
    iam.create_instance_profile(InstanceProfileName=role)
    iam.add_role_to_instance_profile(InstanceProfileName=role, RoleName=role)
    with running_imds(server, role, "i-0fedcba9876543210") as metadata:
        output = _run_script(server, metadata, tmp_path)
    assert "❌ No IAM role detected: Unable to locate credentials" in output
