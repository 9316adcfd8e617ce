"""End-to-end fixtures: a real API server, the operator as a real process, kubectl as a user.

With $KUBECONFIG set, the suite uses that cluster (kind, k3d, a real one); otherwise it
starts a local control plane of its own with `hack/cluster` and stops it at the end.
The operator always runs here, as `transfer-operator run`, with its JSON log in a file.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO, Kubectl, OperatorProcess, local_cluster

CRD = REPO / "crds" / "transferrequests.transfer.dev.yaml"
# status.progress every 0.5 s (default 5), so tests see it move within seconds.
OPERATOR_ARGS = ["--progress-interval", "0.5", "--log-level", "INFO"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def kube_env() -> Iterator[dict[str, str]]:
    if os.environ.get("KUBECONFIG"):
        yield dict(os.environ)  # already hermetic: see tests/conftest.py
        return
    # A cluster of the suite's own, beside any `make demo` cluster (and its operator, which
    # would otherwise race the operator under test for the same requests).
    with local_cluster(REPO / ".cluster-e2e") as env:
        yield env


@pytest.fixture(scope="session")
def kubectl(kube_env: dict[str, str]) -> Kubectl:
    k = Kubectl(kube_env)
    k.run("apply", "--server-side", "--force-conflicts", "-f", str(CRD))
    k.run(
        "wait", "--for=condition=Established", "crd/transferrequests.transfer.dev", "--timeout=60s"
    )
    return k


@pytest.fixture(scope="session")
def operator(
    kubectl: Kubectl, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    log_path = tmp_path_factory.mktemp("operator") / "operator.log"
    process = OperatorProcess(kubectl.env, log_path, OPERATOR_ARGS)
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
