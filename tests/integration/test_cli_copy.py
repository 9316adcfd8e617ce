"""`transfer-operator copy` takes credentials the way each provider's CLI does: from the
environment. Run as a user runs it: a subprocess, exit status and output checked."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from typing import Any

import obstore
import pytest

from tests.support import azure_client, s3_client

pytestmark = pytest.mark.integration


def copy(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "transfer_operator", "copy", "--quiet", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_s3_to_azure_to_gcs_with_environment_credentials(object_stores: Any) -> None:
    s3, az = object_stores.s3, object_stores.azure
    bucket = object_stores.create_s3_bucket()
    container = object_stores.create_azure_container()
    gcs_bucket = object_stores.create_gcs_bucket()
    data = os.urandom(9 * 2**20)
    obstore.put(s3_client(object_stores, bucket), "in.bin", data)
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": s3.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3.secret_access_key,
        "AWS_REGION": s3.region,
        "AWS_ENDPOINT_URL": s3.endpoint,
        "AZURE_STORAGE_CONNECTION_STRING": az.connection_string,
        "STORAGE_EMULATOR_HOST": object_stores.gcs.endpoint,
    }
    first = copy(env, f"s3://{bucket}/in.bin", f"az://{container}/mid.bin")
    assert first.returncode == 0, first.stderr
    digest = hashlib.sha256(data).hexdigest()
    assert f"sha256 {digest}" in first.stdout
    second = copy(env, f"az://{container}/mid.bin", f"gs://{gcs_bucket}/out.bin")
    assert second.returncode == 0, second.stderr
    azure = azure_client(object_stores, container)
    assert hashlib.sha256(bytes(obstore.get(azure, "mid.bin").bytes())).hexdigest() == digest
    assert f"sha256 {digest}" in second.stdout


def test_bad_credentials_fail_clearly_without_echoing_them(object_stores: Any) -> None:
    s3 = object_stores.s3
    bucket = object_stores.create_s3_bucket()
    canary = "wrong-" + os.urandom(8).hex()
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": s3.access_key_id,
        "AWS_SECRET_ACCESS_KEY": canary,
        "AWS_REGION": s3.region,
        "AWS_ENDPOINT_URL": s3.endpoint,
    }
    result = copy(env, f"s3://{bucket}/missing.bin", "file:///tmp/never-written.bin")
    assert result.returncode == 1
    assert "transfer-operator: AccessDenied: s3://" in result.stderr
    assert canary not in result.stderr + result.stdout


def test_missing_object_is_reported_as_not_found(object_stores: Any) -> None:
    s3 = object_stores.s3
    bucket = object_stores.create_s3_bucket()
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": s3.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3.secret_access_key,
        "AWS_REGION": s3.region,
        "AWS_ENDPOINT_URL": s3.endpoint,
    }
    result = copy(env, f"s3://{bucket}/nope.bin", "file:///tmp/never-written.bin")
    assert result.returncode == 1
    assert f"SourceNotFound: source s3://{bucket}/nope.bin does not exist" in result.stderr
