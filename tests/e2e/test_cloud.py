"""Cloud-to-cloud TransferRequests through the operator, with credentials from Secrets.

Real servers on loopback (MinIO, fake-gcs-server, Azurite: the `object_stores` fixture),
a real kube-apiserver, the operator as a process. Secrets are created with kubectl as a
user would; source data is seeded and destinations are read back with each provider's own
client, never through the operator's adapters.

fake-gcs-server ignores Authorization, so the GCS Secret is made faithful another way: its
service-account key points `token_uri` at a small token endpoint run here, which checks
the JWT the operator signs with the Secret's private key. A call to it proves the Secret's
key was used.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import obstore
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.e2e.conftest import Requests, condition
from tests.support import OperatorProcess, azure_client, gcs_client, s3_client

MiB = 2**20
CLIENT_EMAIL = "op@test.iam.gserviceaccount.com"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


# ---- a token endpoint for the service-account key ------------------------------------------


@dataclass
class TokenEndpoint:
    """Answers Google's OAuth2 JWT-bearer grant; records the claims of each valid assertion."""

    public_key: rsa.RSAPublicKey
    url: str = ""
    claims: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    def grant(self, form: dict[str, list[str]]) -> bool:
        if form.get("grant_type") != [JWT_BEARER] or len(form.get("assertion", [])) != 1:
            self.rejected.append(f"unexpected form fields {sorted(form)}")
            return False
        header, payload, signature = form["assertion"][0].split(".")
        try:
            self.public_key.verify(
                _b64decode(signature),
                f"{header}.{payload}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except Exception as exc:
            self.rejected.append(f"bad signature: {type(exc).__name__}")
            return False
        self.claims.append(json.loads(_b64decode(payload)))
        return True


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def token_endpoint(signing_key: rsa.RSAPrivateKey) -> Iterator[TokenEndpoint]:
    endpoint = TokenEndpoint(signing_key.public_key())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            if self.path == "/token" and endpoint.grant(urllib.parse.parse_qs(body)):
                status = 200
                answer = {"access_token": "test-token", "expires_in": 3600, "token_type": "Bearer"}
            else:
                status, answer = 400, {"error": "invalid_grant"}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}/token"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield endpoint
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def service_account_file(
    signing_key: rsa.RSAPrivateKey, token_endpoint: TokenEndpoint, tmp_path: Path
) -> Path:
    pem = signing_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    key = {
        "type": "service_account",
        "project_id": "test",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": CLIENT_EMAIL,
        "client_id": "1",
        "token_uri": token_endpoint.url,
    }
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps(key))
    return path


def assert_key_used(token_endpoint: TokenEndpoint) -> None:
    """The operator exchanged a JWT signed with the Secret's key for a token."""
    assert token_endpoint.rejected == []
    assert token_endpoint.claims, "the operator never asked the token endpoint for a token"
    claims = token_endpoint.claims[-1]
    assert claims["iss"] == CLIENT_EMAIL
    # google-auth always signs for Google's own token URI (the `aud`), whatever token_uri is
    assert "devstorage" in claims["scope"]


# ---- Secrets, as a user creates them -------------------------------------------------------


def create_secret(requests: Requests, name: str, *sources: str) -> dict[str, str]:
    """`kubectl create secret generic NAME --from-literal=... --from-file=...`."""
    requests.kubectl.run("create", "secret", "generic", name, "-n", requests.namespace, *sources)
    return {"name": name}


def s3_secret(requests: Requests, s3: Any, name: str = "aws", **overrides: str) -> dict[str, str]:
    data = {
        "AWS_ACCESS_KEY_ID": s3.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3.secret_access_key,
        **overrides,
    }
    literals = [f"--from-literal={key}={value}" for key, value in data.items() if value]
    return create_secret(requests, name, *literals)


def gcs_secret(requests: Requests, service_account_file: Path) -> dict[str, str]:
    return create_secret(
        requests, "gcs", f"--from-file=service-account.json={service_account_file}"
    )


def azure_secret(requests: Requests, azure: Any) -> dict[str, str]:
    return create_secret(
        requests,
        "azure",
        f"--from-literal=AZURE_STORAGE_CONNECTION_STRING={azure.connection_string}",
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def s3_side(stores: Any, url: str, secret: dict[str, str]) -> dict[str, Any]:
    return {
        "url": url,
        "endpoint": stores.s3.endpoint,
        "region": stores.s3.region,
        "credentialsSecretRef": secret,
    }


def warnings(requests: Requests, name: str) -> list[str]:
    return [e["reason"] for e in requests.events(name) if e["type"] == "Warning"]


def assert_stays_failed(requests: Requests, name: str, seconds: float = 3) -> dict[str, Any]:
    """A permanent error is not retried: nothing moves after Failed."""
    time.sleep(seconds)
    obj = requests.get(name)
    assert obj["status"]["phase"] == "Failed"
    assert obj["status"]["attempts"] == 1
    assert "nextRetryTime" not in obj["status"]
    assert "Retrying" not in [e["reason"] for e in requests.events(name)]
    return obj


# ---- happy paths ---------------------------------------------------------------------------


def test_s3_to_gcs_single_object(
    requests: Requests,
    object_stores: Any,
    service_account_file: Path,
    token_endpoint: TokenEndpoint,
) -> None:
    data = os.urandom(20 * MiB)
    digest = sha256(data)
    source_bucket = object_stores.create_s3_bucket()
    obstore.put(s3_client(object_stores, source_bucket), "exports/big.bin", data)
    destination_bucket = object_stores.create_gcs_bucket()

    requests.create(
        "s3-to-gcs",
        {
            "source": s3_side(
                object_stores,
                f"s3://{source_bucket}/exports/big.bin",
                s3_secret(requests, object_stores.s3),
            ),
            "destination": {
                "url": f"gs://{destination_bucket}/imports/big.bin",
                "endpoint": object_stores.gcs.endpoint,
                "credentialsSecretRef": gcs_secret(requests, service_account_file),
            },
        },
    )

    obj = requests.wait_phase("s3-to-gcs", "Succeeded", timeout=120)
    status = obj["status"]
    assert status["checksum"] == {"algorithm": "sha256", "value": digest}
    assert status["attempts"] == 1
    assert status["progress"]["bytesDone"] == status["progress"]["bytesTotal"] == len(data)
    assert condition(obj, "Ready")["status"] == "True"

    blob = gcs_client(object_stores).bucket(destination_bucket).get_blob("imports/big.bin")
    assert blob is not None and blob.size == len(data)
    assert sha256(blob.download_as_bytes()) == digest
    assert blob.metadata == {"sha256": digest}
    assert_key_used(token_endpoint)


def test_gcs_prefix_to_azure_with_filters(
    requests: Requests,
    object_stores: Any,
    service_account_file: Path,
    token_endpoint: TokenEndpoint,
) -> None:
    source_bucket = gcs_client(object_stores).bucket(object_stores.create_gcs_bucket())
    names = (
        [f"day-{i:02}.csv" for i in range(10)]
        + [f"nested/deep/part-{i}.csv" for i in range(5)]
        + ["archive/old-1.csv", "archive/old-2.csv"]  # excluded
        + [f"day-{i:02}.csv.tmp" for i in range(3)]  # not included
    )
    contents = {name: os.urandom(1000 + 37 * i) for i, name in enumerate(names)}
    for name, data in contents.items():
        source_bucket.blob(f"exports/{name}").upload_from_string(data)
    source_bucket.blob("elsewhere/outside.csv").upload_from_string(b"not under the prefix")
    container = object_stores.create_azure_container()

    requests.create(
        "gcs-to-azure",
        {
            "source": {
                "url": f"gs://{source_bucket.name}/exports/",
                "endpoint": object_stores.gcs.endpoint,
                "credentialsSecretRef": gcs_secret(requests, service_account_file),
            },
            "destination": {
                "url": f"az://{container}/imported/",
                "credentialsSecretRef": azure_secret(requests, object_stores.azure),
            },
            "include": ["*.csv"],
            "exclude": ["archive/**"],
            "concurrency": 4,
        },
    )

    obj = requests.wait_phase("gcs-to-azure", "Succeeded", timeout=120)
    expected = {
        name: data
        for name, data in contents.items()
        if name.endswith(".csv") and not name.startswith("archive/")
    }
    assert len(expected) == 15
    progress = obj["status"]["progress"]
    assert progress["objectsDone"] == progress["objectsTotal"] == 15
    assert progress["bytesDone"] == progress["bytesTotal"] == sum(map(len, expected.values()))
    assert obj["status"]["attempts"] == 1
    assert "checksum" not in obj["status"]  # only single-object transfers carry one

    store = azure_client(object_stores, container)
    listed = sorted(meta["path"] for batch in obstore.list(store) for meta in batch)
    assert listed == sorted(f"imported/{name}" for name in expected)
    for name, data in expected.items():
        copied = bytes(obstore.get(store, f"imported/{name}").bytes())
        assert sha256(copied) == sha256(data), name
    assert_key_used(token_endpoint)


# ---- failures ------------------------------------------------------------------------------


def test_wrong_s3_secret_key_is_access_denied_and_never_shown(
    requests: Requests, object_stores: Any, operator: OperatorProcess
) -> None:
    canary = "CANARY-wr0ng-k3y-" + os.urandom(8).hex()
    source_bucket = object_stores.create_s3_bucket()
    obstore.put(s3_client(object_stores, source_bucket), "a.bin", b"some bytes")
    destination = object_stores.create_azure_container()
    requests.create(
        "denied",
        {
            "source": s3_side(
                object_stores,
                f"s3://{source_bucket}/a.bin",
                s3_secret(requests, object_stores.s3, AWS_SECRET_ACCESS_KEY=canary),
            ),
            "destination": {
                "url": f"az://{destination}/a.bin",
                "credentialsSecretRef": azure_secret(requests, object_stores.azure),
            },
        },
    )

    obj = requests.wait_phase("denied", "Failed")
    last_error = obj["status"]["lastError"]
    assert (last_error["reason"], last_error["retryable"]) == ("AccessDenied", False)
    assert f"s3://{source_bucket}/a.bin" in last_error["message"]
    assert condition(obj, "Ready")["reason"] == "AccessDenied"
    assert requests.wait_event("denied", "AccessDenied")["type"] == "Warning"
    obj = assert_stays_failed(requests, "denied")
    assert list(obstore.list(azure_client(object_stores, destination))) == []

    seen = {
        "status": json.dumps(obj),
        "events": json.dumps(requests.events("denied")),
        "operator log": operator.log_path.read_text(),
    }
    assert [where for where, text in seen.items() if canary in text] == []


def test_secret_missing_a_required_key_is_credentials_invalid(
    requests: Requests, object_stores: Any
) -> None:
    source_bucket = object_stores.create_s3_bucket()
    obstore.put(s3_client(object_stores, source_bucket), "a.bin", b"some bytes")
    requests.create(
        "half-a-secret",
        {
            "source": s3_side(
                object_stores,
                f"s3://{source_bucket}/a.bin",
                s3_secret(requests, object_stores.s3, AWS_SECRET_ACCESS_KEY=""),
            ),
            "destination": {
                "url": f"gs://{object_stores.create_gcs_bucket()}/a.bin",
                "endpoint": object_stores.gcs.endpoint,
            },
        },
    )

    obj = requests.wait_phase("half-a-secret", "Failed")
    last_error = obj["status"]["lastError"]
    assert (last_error["reason"], last_error["retryable"]) == ("CredentialsInvalid", False)
    assert "AWS_SECRET_ACCESS_KEY" in last_error["message"]
    assert requests.wait_event("half-a-secret", "CredentialsInvalid")["type"] == "Warning"
    assert_stays_failed(requests, "half-a-secret")


@pytest.mark.parametrize(
    ("key", "reason"),
    [("data/a.bin", "SourceNotFound"), ("data/", "NotFound")],
    ids=["object", "prefix"],
)
def test_missing_source_bucket_fails_without_retries(
    requests: Requests, object_stores: Any, key: str, reason: str
) -> None:
    missing = f"no-such-bucket-{os.urandom(4).hex()}"
    requests.create(
        "no-bucket",
        {
            "source": s3_side(
                object_stores, f"s3://{missing}/{key}", s3_secret(requests, object_stores.s3)
            ),
            "destination": {
                "url": f"az://{object_stores.create_azure_container()}/out/",
                "credentialsSecretRef": azure_secret(requests, object_stores.azure),
            },
        },
    )

    obj = requests.wait_phase("no-bucket", "Failed")
    last_error = obj["status"]["lastError"]
    assert (last_error["reason"], last_error["retryable"]) == (reason, False)
    assert f"s3://{missing}/" in last_error["message"]
    assert condition(obj, "Ready")["reason"] == reason
    assert requests.wait_event("no-bucket", reason)["type"] == "Warning"
    assert_stays_failed(requests, "no-bucket")
    assert warnings(requests, "no-bucket") == [reason]
