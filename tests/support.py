"""Support code shared by the suites: hack/ modules, kubectl, a local control plane and
the operator as a child process.

The e2e and deploy suites drive the same tools the same way; one copy here keeps their
behaviour (timeouts, error messages, shutdown) from drifting apart.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from google.auth.credentials import AnonymousCredentials
from google.cloud import storage as gcs
from obstore.store import AzureStore, S3Store

REPO = Path(__file__).resolve().parents[1]


@functools.cache
def load_hack_module(name: str) -> ModuleType:
    """`hack/<name>.py`, loaded by path (hack/ is not a package); once per session."""
    spec = importlib.util.spec_from_file_location(name, REPO / "hack" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    """A loopback port nothing listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _cluster_dir(cluster_dir: Path) -> Iterator[None]:
    """hack/cluster reads TRANSFER_OPERATOR_CLUSTER_DIR from the environment it inherits."""
    old = os.environ.get("TRANSFER_OPERATOR_CLUSTER_DIR")
    os.environ["TRANSFER_OPERATOR_CLUSTER_DIR"] = str(cluster_dir)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TRANSFER_OPERATOR_CLUSTER_DIR", None)
        else:
            os.environ["TRANSFER_OPERATOR_CLUSTER_DIR"] = old


@contextlib.contextmanager
def local_cluster(cluster_dir: Path) -> Iterator[dict[str, str]]:
    """A local control plane (`hack/cluster`) with its state in `cluster_dir`, stopped on exit.

    A directory per suite keeps it apart from a `make demo` cluster and the other suites'
    (whose operators would otherwise act on its requests). Yields this process's environment
    plus the cluster's KUBECONFIG and PATH (a matching kubectl first).
    """
    cluster = load_hack_module("local_cluster")
    env = dict(os.environ)
    with _cluster_dir(cluster_dir):
        env.update(cluster.up())
    try:
        yield env
    finally:
        with _cluster_dir(cluster_dir):
            cluster.down()


class Tool:
    """A command-line tool run with a fixed environment; failures show stderr."""

    def __init__(self, argv0: str, env: dict[str, str]) -> None:
        self.argv0 = argv0
        self.env = env

    def run(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.argv0, *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{Path(self.argv0).name} {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stderr.strip()}\n{result.stdout.strip()[-2000:]}"
            )
        return result


class Kubectl(Tool):
    """kubectl (the first on the env's PATH) as a user of the cluster would run it."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__("kubectl", env)

    def apply(
        self, manifest: dict[str, Any] | str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """`kubectl apply -f -`; with check=False a rejection is the caller's to inspect."""
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        return self.run("apply", *args, "-f", "-", input=text, check=check)

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json").stdout)

    def can_i(self, user: str, verb: str, resource: str, namespace: str | None = None) -> bool:
        """`kubectl auth can-i` as `user`; namespace "*" = in all namespaces at once."""
        where = ["--all-namespaces"] if namespace == "*" else ["-n", namespace] if namespace else []
        result = self.run("auth", "can-i", verb, resource, f"--as={user}", *where, check=False)
        answer = result.stdout.strip()
        if answer not in ("yes", "no"):
            raise AssertionError(f"kubectl auth can-i {verb} {resource}: {result.stderr}")
        return answer == "yes"


class OperatorProcess:
    """`transfer-operator run` as a child process; restartable, killable, log kept in a file.

    `args` are the extra CLI arguments (the suite's, or those the chart's Deployment passes);
    the metrics and health ports are always free ones picked at each start.
    """

    def __init__(self, env: dict[str, str], log_path: Path, args: Sequence[str] = ()) -> None:
        self.env = env
        self.log_path = log_path
        self.args = list(args)
        self.process: subprocess.Popen[bytes] | None = None
        self.metrics_port = 0

    def start(self) -> None:
        self.metrics_port, health_port = free_port(), free_port()
        argv = [sys.executable, "-m", "transfer_operator", "run", *self.args]
        argv += ["--metrics-port", str(self.metrics_port), "--health-port", str(health_port)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"operator exited early:\n{self.tail()}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{health_port}/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"operator never became healthy:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, as when a node dies."""
        assert self.process
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM, so kopf shuts down as in a pod; SIGKILL if it takes longer than 30 s."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics") as response:
            return response.read().decode()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])


# ---- the providers' own clients: tests read and seed data with these, never through the
# operator's adapters, so a check does not depend on the code it checks.


def s3_client(stores: Any, bucket: str) -> S3Store:
    return S3Store(
        bucket,
        endpoint=stores.s3.endpoint,
        access_key_id=stores.s3.access_key_id,
        secret_access_key=stores.s3.secret_access_key,
        region=stores.s3.region,
        virtual_hosted_style_request=False,
        client_options={"allow_http": True},
    )


def azure_client(stores: Any, container: str) -> AzureStore:
    return AzureStore(
        container,
        account_name=stores.azure.account_name,
        account_key=stores.azure.account_key,
        endpoint=stores.azure.endpoint,
        client_options={"allow_http": True},
    )


def gcs_client(stores: Any) -> gcs.Client:
    return gcs.Client(
        project="test",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": stores.gcs.endpoint},
    )
