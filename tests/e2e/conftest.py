"""End-to-end fixtures: a real API server, the operator as a real process, kubectl as a user.

With $KUBECONFIG set, the suite uses that cluster (kind, k3d, a real one); otherwise it
starts a local control plane of its own with `hack/cluster` and stops it at the end.
The operator always runs here, as `transfer-operator run`, with its JSON log in a file.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CRD = REPO / "crds" / "transferrequests.transfer.dev.yaml"


def _load_local_cluster() -> Any:
    spec = importlib.util.spec_from_file_location(
        "local_cluster", REPO / "hack" / "local_cluster.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


class Kubectl:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def run(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["kubectl", *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
        return result

    def apply(
        self, manifest: dict[str, Any] | str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        return self.run("apply", "-f", "-", input=text, check=check)

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json").stdout)


@pytest.fixture(scope="session")
def kube_env() -> Iterator[dict[str, str]]:
    env = dict(os.environ)  # already hermetic: see tests/conftest.py
    if os.environ.get("KUBECONFIG"):
        yield env
        return
    # A cluster of the suite's own, beside any `make demo` cluster (and its operator, which
    # would otherwise race the operator under test for the same requests).
    os.environ["TRANSFER_OPERATOR_CLUSTER_DIR"] = str(REPO / ".cluster-e2e")
    cluster = _load_local_cluster()
    env.update(cluster.up())
    try:
        yield env
    finally:
        cluster.down()


@pytest.fixture(scope="session")
def kubectl(kube_env: dict[str, str]) -> Kubectl:
    k = Kubectl(kube_env)
    k.run("apply", "--server-side", "--force-conflicts", "-f", str(CRD))
    k.run(
        "wait", "--for=condition=Established", "crd/transferrequests.transfer.dev", "--timeout=60s"
    )
    return k


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OperatorProcess:
    """`transfer-operator run` as a child process; restartable, killable, log kept."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.metrics_port = 0

    def start(self) -> None:
        self.metrics_port, health_port = _free_port(), _free_port()
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "transfer_operator",
                "run",
                "--metrics-port",
                str(self.metrics_port),
                "--health-port",
                str(health_port),
                "--progress-interval",
                "0.5",
                "--log-level",
                "INFO",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
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

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="session")
def operator(
    kubectl: Kubectl, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    log_path = tmp_path_factory.mktemp("operator") / "operator.log"
    process = OperatorProcess(kubectl.env, log_path)
    process.start()
    yield process
    process.stop()


@pytest.fixture
def namespace(kubectl: Kubectl, operator: OperatorProcess) -> str:
    """A fresh namespace per test (never deleted: without a controller-manager it would hang)."""
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    kubectl.run("create", "namespace", name)
    return name


class Requests:
    """TransferRequests in one namespace, read back as `kubectl get` shows them."""

    def __init__(self, kubectl: Kubectl, namespace: str, operator: OperatorProcess) -> None:
        self.kubectl = kubectl
        self.namespace = namespace
        self.operator = operator

    def create(self, name: str, spec: dict[str, Any], **metadata: Any) -> None:
        self.kubectl.apply(self.manifest(name, spec, **metadata))

    def manifest(self, name: str, spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
        return {
            "apiVersion": "transfer.dev/v1alpha1",
            "kind": "TransferRequest",
            "metadata": {"name": name, "namespace": self.namespace, **metadata},
            "spec": spec,
        }

    def patch_spec(
        self, name: str, spec: dict[str, Any], check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        patch = json.dumps({"spec": spec})
        return self.kubectl.run(
            "patch", "tr", name, "-n", self.namespace, "--type=merge", "-p", patch, check=check
        )

    def get(self, name: str) -> dict[str, Any]:
        obj: dict[str, Any] = self.kubectl.json("get", "tr", name, "-n", self.namespace)
        return obj

    def jsonpath(self, name: str, path: str) -> str:
        return self.kubectl.run(
            "get", "tr", name, "-n", self.namespace, "-o", f"jsonpath={path}"
        ).stdout

    def wait(
        self,
        name: str,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float = 60,
        what: str = "",
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        obj: dict[str, Any] = {}
        while time.monotonic() < deadline:
            obj = self.get(name)
            if predicate(obj):
                return obj
            time.sleep(0.2)
        raise AssertionError(
            f"{name}: timed out waiting for {what or 'condition'}; status: "
            f"{json.dumps(obj.get('status'), indent=1)}\noperator log:\n{self.operator.tail()}"
        )

    def wait_phase(self, name: str, phase: str, timeout: float = 60) -> dict[str, Any]:
        return self.wait(
            name, lambda o: o.get("status", {}).get("phase") == phase, timeout, f"phase {phase}"
        )

    def wait_event(self, name: str, reason: str, timeout: float = 15) -> dict[str, Any]:
        """Events are posted asynchronously by kopf: the first one with `reason`, once it lands."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events(name):
                if event["reason"] == reason:
                    return event
            time.sleep(0.2)
        raise AssertionError(f"{name}: no {reason} event; events: {self.events(name)}")

    def events(self, name: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.kubectl.json(
            "get", "events", "-n", self.namespace, "--field-selector", f"involvedObject.name={name}"
        )["items"]
        return items


@pytest.fixture
def requests(kubectl: Kubectl, namespace: str, operator: OperatorProcess) -> Requests:
    return Requests(kubectl, namespace, operator)


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in obj["status"]["conditions"] if c["type"] == type_)
