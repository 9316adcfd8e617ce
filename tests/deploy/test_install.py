"""`helm install` into a real API server, then the operator runs *as the chart's
ServiceAccount* (a kubeconfig holding a TokenRequest token for it) and completes a transfer:
the chart's RBAC is sufficient. `kubectl auth can-i` proves it grants nothing more.
Then `helm upgrade` and `helm uninstall` (no RBAC left behind).

The local control plane has no kubelet, so the Deployment's pod never runs; the operator
runs here as a process, with the same arguments, under the same identity.

Tests run in file order for each mode (pytest groups tests by the module-scoped `release`
parameter); the last one uninstalls.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import CHART, Helm, service_account_kubeconfig, unique
from tests.support import Kubectl, OperatorProcess

RBAC_KINDS = "clusterroles,clusterrolebindings,roles,rolebindings"


@dataclass
class Release:
    name: str
    mode: str  # "cluster-wide" | "namespaced"
    namespace: str  # the release's (and the ServiceAccount's) namespace
    watched: str  # where TransferRequests are created
    unwatched: str  # a namespace the namespaced release does not watch
    values: list[str] = field(default_factory=list)

    @property
    def service_account(self) -> str:
        return f"{self.name}-transfer-operator"

    @property
    def user(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.service_account}"

    @property
    def operator_args(self) -> list[str]:
        """What the chart's Deployment passes (checked against the rendered args below)."""
        namespaces = [f"--namespace={self.watched}"] if self.mode == "namespaced" else []
        return [*namespaces, "--log-level=INFO", "--progress-interval=0.5"]


@pytest.fixture(scope="module", params=["cluster-wide", "namespaced"])
def release(request: pytest.FixtureRequest, helm: Helm, kubectl: Kubectl) -> Iterator[Release]:
    mode = request.param
    rel = Release(
        name=unique("to"),
        mode=mode,
        namespace=unique("ops"),
        watched=unique("team"),
        unwatched=unique("other"),
    )
    for ns in (rel.namespace, rel.watched, rel.unwatched):
        kubectl.run("create", "namespace", ns)
    if mode == "namespaced":
        rel.values = ["--set", f"watchNamespaces={{{rel.watched}}}"]
    helm.run("install", rel.name, str(CHART), "--namespace", rel.namespace, *rel.values,
             "--set", "progressInterval=0.5")  # fmt: skip
    kubectl.run(
        "wait", "--for=condition=Established", "crd/transferrequests.transfer.dev", "--timeout=60s"
    )
    yield rel
    helm.run("uninstall", rel.name, "--namespace", rel.namespace, check=False)


def deployment_args(kubectl: Kubectl, rel: Release) -> list[str]:
    deployment = kubectl.json("get", "deployment", rel.service_account, "-n", rel.namespace)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    args: list[str] = container["args"]
    return args


def test_install_created_the_release(helm: Helm, kubectl: Kubectl, release: Release) -> None:
    status = json.loads(
        helm.run("status", release.name, "-n", release.namespace, "-o", "json").stdout
    )
    assert status["info"]["status"] == "deployed"
    assert kubectl.json("get", "crd", "transferrequests.transfer.dev")["spec"]["group"] == (
        "transfer.dev"
    )
    kubectl.run("get", "serviceaccount", release.service_account, "-n", release.namespace)
    kubectl.run("get", "service", f"{release.service_account}-metrics", "-n", release.namespace)
    args = deployment_args(kubectl, release)
    namespaces = [a for a in args if a.startswith("--namespace")]
    assert namespaces == [a for a in release.operator_args if a.startswith("--namespace")]
    assert "--progress-interval=0.5" in args


def test_operator_as_the_service_account_completes_a_transfer(
    kubectl: Kubectl, release: Release, tmp_path: Path
) -> None:
    kubeconfig = service_account_kubeconfig(
        kubectl, release.namespace, release.service_account, tmp_path / "sa.kubeconfig"
    )
    env = {**kubectl.env, "KUBECONFIG": str(kubeconfig)}
    who = Kubectl(env).json("auth", "whoami")
    assert who["status"]["userInfo"]["username"] == release.user

    data = os.urandom(256 * 1024 + 7)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "data.bin").write_bytes(data)
    destination = tmp_path / "dst" / "data.bin"
    operator = OperatorProcess(env, tmp_path / "operator.log", release.operator_args)
    operator.start()
    try:
        # The operator reads a referenced Secret at each attempt (secrets get).
        kubectl.apply(
            kubectl.run(
                "create",
                "secret",
                "generic",
                "creds",
                "-n",
                release.watched,
                "--from-literal=AWS_ACCESS_KEY_ID=unused",
                "--dry-run=client",
                "-o",
                "yaml",
            ).stdout
        )
        kubectl.apply({
            "apiVersion": "transfer.dev/v1alpha1",
            "kind": "TransferRequest",
            "metadata": {"name": "copy", "namespace": release.watched},
            "spec": {
                "source": {"url": f"file://{tmp_path}/src/data.bin",
                           "credentialsSecretRef": {"name": "creds"}},
                "destination": {"url": f"file://{destination}"},
            },
        })  # fmt: skip
        obj = wait_for(
            kubectl, release.watched, "copy", lambda o: phase(o) == "Succeeded", operator
        )
        assert obj["status"]["checksum"]["value"] == hashlib.sha256(data).hexdigest()
        assert destination.read_bytes() == data
        # Events posted (core/v1 events create):
        reasons = {
            e["reason"] for e in events(kubectl, release.watched, "copy", {"Started", "Succeeded"})
        }
        assert {"Started", "Succeeded"} <= reasons

        # A running request carries kopf's finalizer (patch); deleting it cancels the attempt
        # and the operator releases the finalizer (patch), so the object goes.
        kubectl.apply({
            "apiVersion": "transfer.dev/v1alpha1",
            "kind": "TransferRequest",
            "metadata": {"name": "slow", "namespace": release.watched},
            "spec": {
                "source": {"url": f"file://{tmp_path}/src/data.bin"},
                "destination": {"url": f"file://{tmp_path}/dst/slow.bin"},
                "bandwidthLimit": "8Ki",
            },
        })  # fmt: skip
        running = wait_for(
            kubectl, release.watched, "slow", lambda o: phase(o) == "Running", operator
        )
        assert "transfer.dev/finalizer" in running["metadata"].get("finalizers", [])
        kubectl.run("delete", "tr", "slow", "-n", release.watched, "--timeout=30s")
        kubectl.run("delete", "tr", "copy", "-n", release.watched, "--timeout=30s")
        assert not kubectl.run("get", "tr", "-n", release.watched, "-o", "name").stdout.strip()
    finally:
        operator.stop()
    log = operator.log()
    for needle in ("Forbidden", "forbidden", " 403"):
        assert needle not in log, f"a permission error in the operator's log:\n{operator.tail()}"


def test_rbac_grants_nothing_more(kubectl: Kubectl, release: Release) -> None:
    sa, watched, unwatched = release.user, release.watched, release.unwatched
    can = lambda verb, resource, ns=None: kubectl.can_i(sa, verb, resource, ns)  # noqa: E731

    for verb in ("get", "list", "watch", "patch"):
        assert can(verb, "transferrequests.transfer.dev", watched)
    assert can("patch", "transferrequests.transfer.dev/status", watched)
    assert can("create", "events", watched)
    assert can("get", "secrets", watched)  # credentialsSecretRef (rbac.readSecrets, default on)
    assert can("list", "customresourcedefinitions.apiextensions.k8s.io")

    # Never: deleting, creating or replacing requests, other resources, writes to CRDs.
    for verb in ("delete", "create", "update", "deletecollection"):
        assert not can(verb, "transferrequests.transfer.dev", watched)
    assert not can("update", "transferrequests.transfer.dev/status", watched)
    for verb in ("list", "watch", "create", "update", "delete"):
        assert not can(verb, "secrets", watched)
    for verb, resource in [
        ("create", "pods"), ("get", "pods"), ("create", "deployments.apps"),
        ("get", "configmaps"), ("create", "serviceaccounts/token"), ("create", "jobs.batch"),
        ("get", "events"), ("create", "roles.rbac.authorization.k8s.io"),
    ]:  # fmt: skip
        assert not can(verb, resource, watched), f"{verb} {resource}"
    for verb in ("create", "patch", "update", "delete"):
        assert not can(verb, "customresourcedefinitions.apiextensions.k8s.io")
    assert not can("get", "secrets", "kube-system") or release.mode == "cluster-wide"

    if release.mode == "namespaced":
        # Nothing at all in a namespace it does not watch, and no cluster-wide requests.
        assert not can("get", "secrets", unwatched)
        assert not can("get", "secrets", "*")
        assert not can("list", "transferrequests.transfer.dev", unwatched)
        assert not can("patch", "transferrequests.transfer.dev", unwatched)
        assert not can("create", "events", unwatched)
        assert not can("list", "transferrequests.transfer.dev", "*")
        assert can("watch", "namespaces")  # kopf matches its namespace list against these
    else:
        assert can("list", "transferrequests.transfer.dev", "*")
        assert can("get", "secrets", unwatched)  # documented: cluster-wide secret reads
        assert not can("list", "namespaces")  # kopf needs no namespace list cluster-wide


def test_helm_upgrade_changes_values(helm: Helm, kubectl: Kubectl, release: Release) -> None:
    helm.run(
        "upgrade", release.name, str(CHART), "--namespace", release.namespace, "--reuse-values",
        "--set", "logLevel=DEBUG", "--set", "rbac.readSecrets=false",
    )  # fmt: skip
    status = json.loads(
        helm.run("status", release.name, "-n", release.namespace, "-o", "json").stdout
    )
    assert status["version"] == 2 and status["info"]["status"] == "deployed"
    assert "--log-level=DEBUG" in deployment_args(kubectl, release)
    assert not kubectl.can_i(release.user, "get", "secrets", release.watched)
    assert kubectl.can_i(release.user, "patch", "transferrequests.transfer.dev", release.watched)


def test_helm_uninstall_leaves_no_rbac(helm: Helm, kubectl: Kubectl, release: Release) -> None:
    helm.run("uninstall", release.name, "--namespace", release.namespace, "--wait", "--timeout=60s")
    selector = f"app.kubernetes.io/instance={release.name}"
    left = kubectl.json("get", RBAC_KINDS, "--all-namespaces", "-l", selector)["items"]
    assert left == []
    left = kubectl.json("get", "deploy,sa,svc", "-n", release.namespace, "-l", selector)["items"]
    assert left == []
    assert not kubectl.can_i(release.user, "list", "transferrequests.transfer.dev", release.watched)
    # helm never deletes CRDs from crds/ (nor, with them, every TransferRequest).
    kubectl.run("get", "crd", "transferrequests.transfer.dev")


# --------------------------------------------------------------------------- helpers
def phase(obj: dict[str, Any]) -> str | None:
    return obj.get("status", {}).get("phase")


def wait_for(
    kubectl: Kubectl, namespace: str, name: str, predicate: Any, operator: OperatorProcess
) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    obj: dict[str, Any] = {}
    while time.monotonic() < deadline:
        obj = kubectl.json("get", "tr", name, "-n", namespace)
        if predicate(obj):
            return obj
        time.sleep(0.3)
    raise AssertionError(
        f"{name}: timed out; status {json.dumps(obj.get('status'))}\n{operator.tail()}"
    )


def events(kubectl: Kubectl, namespace: str, name: str, reasons: set[str]) -> list[dict[str, Any]]:
    """The request's Events, once all `reasons` have landed (kopf posts them asynchronously)."""
    deadline = time.monotonic() + 15
    items: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        items = kubectl.json(
            "get", "events", "-n", namespace, "--field-selector", f"involvedObject.name={name}"
        )["items"]
        if reasons <= {e["reason"] for e in items}:
            break
        time.sleep(0.3)
    return items
