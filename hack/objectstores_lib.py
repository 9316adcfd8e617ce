"""Standard-library client side of ``hack/objectstores``, for pytest fixtures and bench/.

Load it by path (``hack/`` is not a package)::

    path = REPO / "hack" / "objectstores_lib.py"
    spec = importlib.util.spec_from_file_location("objectstores_lib", path)
    lib = importlib.util.module_from_spec(spec); spec.loader.exec_module(lib)

    started = lib.up(state_dir)          # names it started (others were already up)
    stores = lib.connect(state_dir)      # an ObjectStores: endpoints, credentials, helpers
    bucket = stores.create_s3_bucket()   # also create_gcs_bucket, create_azure_container
    ...
    lib.down(state_dir, started)

Bucket/container creation signs its own requests (AWS SigV4, Azure SharedKey), so no
cloud SDK is needed to set up a test. ``clean_env()`` is the process environment without
the machine's AWS_*/AZURE_*/GOOGLE_* variables (this machine sets AWS_CA_BUNDLE).
(No ``from __future__ import annotations``: the dataclasses must resolve their types
when the module is loaded by path without being in ``sys.modules``.)
"""

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import shlex
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path

OBJECTSTORES = Path(__file__).resolve().parent / "objectstores"
SERVICES = ("s3", "gcs", "azure", "http")
SCRUB_PREFIXES = ("AWS_", "AZURE_", "AZURITE_", "GOOGLE_", "GCLOUD_", "CLOUDSDK_")
SCRUB_NAMES = ("STORAGE_EMULATOR_HOST",)
# The first build of MinIO + fake-gcs-server from the Go module proxy takes minutes.
UP_TIMEOUT_S = 1800


# --------------------------------------------------------------------------- data
@dataclass(frozen=True)
class S3Server:
    endpoint: str
    region: str
    access_key_id: str
    secret_access_key: str = field(repr=False)


@dataclass(frozen=True)
class GCSServer:
    endpoint: str
    service_account_path: str  # {"gcs_base_url": endpoint, "disable_oauth": true, ...}
    project: str


@dataclass(frozen=True)
class AzureServer:
    endpoint: str  # http://127.0.0.1:PORT/devstoreaccount1
    emulator_url: str  # http://127.0.0.1:PORT (obstore: AZURITE_BLOB_STORAGE_URL)
    account_name: str
    account_key: str = field(repr=False)
    connection_string: str = field(repr=False)


@dataclass(frozen=True)
class HTTPServer:
    url: str  # ends with "/"; GET/HEAD with Range of the files under `root`
    root: Path


@dataclass(frozen=True)
class ObjectStores:
    s3: S3Server
    gcs: GCSServer
    azure: AzureServer
    http: HTTPServer
    env: dict[str, str] = field(repr=False)  # what `hack/objectstores env` exports
    state_dir: Path = Path()

    # ----------------------------------------------------------------- setup helpers
    def create_s3_bucket(self, name: str | None = None) -> str:
        name = name or unique_name("s3")
        status, body = _s3_request(self.s3, "PUT", f"/{name}")
        if status != 200:
            raise RuntimeError(f"create S3 bucket {name}: HTTP {status} {body[:300]!r}")
        return name

    def create_gcs_bucket(self, name: str | None = None) -> str:
        name = name or unique_name("gcs")
        status, body = http_request(
            "POST",
            f"{self.gcs.endpoint}/storage/v1/b?project={self.gcs.project}",
            json.dumps({"name": name}).encode(),
            {"Content-Type": "application/json"},
        )
        if status != 200:
            raise RuntimeError(f"create GCS bucket {name}: HTTP {status} {body[:300]!r}")
        return name

    def create_azure_container(self, name: str | None = None) -> str:
        name = name or unique_name("az")
        status, body = _azure_request(self.azure, "PUT", name, {"restype": "container"})
        if status != 201:
            raise RuntimeError(f"create Azure container {name}: HTTP {status} {body[:300]!r}")
        return name

    def http_file(self, relpath: str, data: bytes) -> str:
        """Write a file the HTTP server serves; return its URL."""
        p = self.http.root / relpath
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        return self.http.url + urllib.parse.quote(relpath)


def unique_name(prefix: str) -> str:
    """A bucket/container name valid for S3, GCS and Azure (lowercase, digits, '-')."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# --------------------------------------------------------------------------- raw HTTP
def http_request(
    method: str, url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def _s3_request(s3: S3Server, method: str, path: str) -> tuple[int, bytes]:
    """A SigV4-signed, body-less request (path-style) to the S3 endpoint."""
    u = urllib.parse.urlsplit(s3.endpoint)
    now = dt.datetime.now(dt.UTC)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = hashlib.sha256(b"").hexdigest()
    headers = {"host": u.netloc, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(
        [
            method,
            urllib.parse.quote(path),
            "",
            *(f"{k}:{headers[k]}" for k in sorted(headers)),
            "",
            signed,
            payload,
        ]
    )
    scope = f"{day}/{s3.region}/s3/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = f"AWS4{s3.secret_access_key}".encode()
    for part in (day, s3.region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={s3.access_key_id}/{scope}, "
        f"SignedHeaders={signed}, Signature={sig}"
    )
    del headers["host"]
    return http_request(method, s3.endpoint + urllib.parse.quote(path), None, headers)


def _azure_request(
    az: AzureServer, method: str, resource: str, query: dict[str, str]
) -> tuple[int, bytes]:
    """A SharedKey-signed, body-less request to Azurite (path-style account URL)."""
    headers = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": "2021-08-06"}
    canon_headers = "".join(f"{k}:{headers[k]}\n" for k in sorted(headers))
    canon_resource = f"/{az.account_name}/{az.account_name}/{resource}" + "".join(
        f"\n{k}:{query[k]}" for k in sorted(query)
    )
    # VERB, then 11 standard headers (all empty here), then the canonical parts.
    to_sign = method + "\n" * 12 + canon_headers + canon_resource
    sig = base64.b64encode(
        hmac.new(base64.b64decode(az.account_key), to_sign.encode(), hashlib.sha256).digest()
    ).decode()
    headers["Authorization"] = f"SharedKey {az.account_name}:{sig}"
    url = f"{az.endpoint}/{resource}?{urllib.parse.urlencode(query)}"
    return http_request(method, url, None, headers)


# --------------------------------------------------------------------------- lifecycle
def is_scrubbed(name: str) -> bool:
    return name.startswith(SCRUB_PREFIXES) or name in SCRUB_NAMES


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not is_scrubbed(k)}


def run_cli(state: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = clean_env()
    env["TRANSFER_OPERATOR_OBJECTSTORES_DIR"] = str(state)
    return subprocess.run(
        [sys.executable, str(OBJECTSTORES), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def live(state: Path) -> dict[str, dict[str, object]]:
    """The services of ``state`` that are up (``hack/objectstores status --json``)."""
    res = run_cli(state, "status", "--json")
    if res.returncode not in (0, 1):
        raise RuntimeError(f"hack/objectstores status failed:\n{res.stderr}")
    services: dict[str, dict[str, object]] = json.loads(res.stdout)["services"]
    return services


def up(state: Path, names: tuple[str, ...] = SERVICES) -> list[str]:
    """Start ``names`` in ``state`` (building them the first time); return those that were
    not already up, i.e. what the caller should stop."""
    before = set(live(state))
    res = run_cli(state, "up", *names, timeout=UP_TIMEOUT_S)
    if res.returncode != 0:
        raise RuntimeError(f"hack/objectstores up failed:\n{res.stderr[-6000:]}")
    return [n for n in names if n not in before]


def down(state: Path, names: list[str] | None = None) -> None:
    """Stop ``names`` (by PID, via the CLI); without names stop all and remove ``state``."""
    if names is None:
        run_cli(state, "down")
    elif names:
        run_cli(state, "down", *names)


def connect(state: Path) -> ObjectStores:
    """Endpoints and credentials of the services up in ``state`` (all four must be)."""
    services = live(state)
    missing = [n for n in SERVICES if n not in services]
    if missing:
        raise RuntimeError(f"not up in {state}: {', '.join(missing)}")
    env_res = run_cli(state, "env")
    env = dict(
        shlex.split(line)[1].split("=", 1)
        for line in env_res.stdout.splitlines()
        if line.startswith("export ")
    )
    s3, gcs, az, http = (services[n] for n in SERVICES)
    return ObjectStores(
        s3=S3Server(
            str(s3["endpoint"]),
            str(s3["region"]),
            str(s3["access_key_id"]),
            str(s3["secret_access_key"]),
        ),
        gcs=GCSServer(str(gcs["endpoint"]), str(gcs["service_account_path"]), str(gcs["project"])),
        azure=AzureServer(
            str(az["endpoint"]),
            str(az["emulator_url"]),
            str(az["account_name"]),
            str(az["account_key"]),
            str(az["connection_string"]),
        ),
        http=HTTPServer(str(http["url"]), Path(str(http["root"]))),
        env=env,
        state_dir=state,
    )
