"""Deploy fixtures: the Helm chart on a real API server, the operator as its ServiceAccount.

The suite runs its own local control plane (`hack/cluster` with
TRANSFER_OPERATOR_CLUSTER_DIR=<repo>/.cluster-deploy), separate from the e2e suite's: the
e2e operator watches all namespaces and would otherwise act on this suite's requests, and
this suite must prove that *its* operator, running with only the chart's RBAC, does the work.
Set TRANSFER_OPERATOR_DEPLOY_KUBECONFIG to run it against another cluster instead (kind, a
real one) where no other transfer-operator runs.

helm comes from `hack/helm` (pinned, cached in ~/.cache/transfer-operator/); its config,
cache and data directories are per session temporary directories.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import REPO, Kubectl, Tool, local_cluster

CHART = REPO / "charts" / "transfer-operator"
CLUSTER_DIR = REPO / ".cluster-deploy"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "deploy: the Helm chart, Dockerfile and RBAC against a real API server"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.deploy)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


# --------------------------------------------------------------------------- tools
class Helm(Tool):
    def template(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("template", "r", str(CHART), *args, check=check)

    def render(self, *args: str) -> list[dict[str, Any]]:
        """`helm template` parsed: every non-empty document."""
        return [d for d in yaml.safe_load_all(self.template(*args).stdout) if d]


@pytest.fixture(scope="session")
def helm_bin() -> str:
    result = subprocess.run(
        [sys.executable, str(REPO / "hack" / "helm")], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"hack/helm failed:\n{result.stderr}"
    return result.stdout.strip()


@pytest.fixture(scope="session")
def helm_home() -> Iterator[dict[str, str]]:
    with tempfile.TemporaryDirectory(prefix="helm-home-") as home:
        yield {
            f"HELM_{kind}_HOME": str(Path(home) / kind.lower())
            for kind in ("CONFIG", "CACHE", "DATA")
        }


@pytest.fixture(scope="session")
def helm_offline(helm_bin: str, helm_home: dict[str, str]) -> Helm:
    """helm for lint/template: no cluster needed."""
    env = {**os.environ, **helm_home}
    env.pop("KUBECONFIG", None)
    return Helm(helm_bin, env)


@pytest.fixture(scope="package")
def kube_env() -> Iterator[dict[str, str]]:
    # os.environ is already hermetic (tests/conftest.py): no cloud credentials of the
    # machine's, metadata services fenced off.
    if kubeconfig := os.environ.get("TRANSFER_OPERATOR_DEPLOY_KUBECONFIG"):
        yield {**os.environ, "KUBECONFIG": kubeconfig}
        return
    with local_cluster(CLUSTER_DIR) as env:
        yield env


@pytest.fixture(scope="package")
def kubectl(kube_env: dict[str, str]) -> Kubectl:
    return Kubectl(kube_env)


@pytest.fixture(scope="package")
def helm(helm_bin: str, helm_home: dict[str, str], kube_env: dict[str, str]) -> Helm:
    return Helm(helm_bin, {**kube_env, **helm_home})


# --------------------------------------------------------------------------- the operator
def service_account_kubeconfig(kubectl: Kubectl, namespace: str, sa: str, path: Path) -> Path:
    """A kubeconfig that authenticates as `namespace/sa` with a TokenRequest token."""
    token = kubectl.run("create", "token", sa, "-n", namespace, "--duration=1h").stdout.strip()
    admin = kubectl.json("config", "view", "--raw", "--minify")
    cluster = dict(admin["clusters"][0]["cluster"])
    if "certificate-authority" in cluster:  # a file path: inline it, the file may be relative
        ca = Path(cluster.pop("certificate-authority")).read_bytes()
        cluster["certificate-authority-data"] = base64.b64encode(ca).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "cluster", "cluster": cluster}],
        "users": [{"name": sa, "user": {"token": token}}],
        "contexts": [
            {"name": sa, "context": {"cluster": "cluster", "user": sa, "namespace": namespace}}
        ],
        "current-context": sa,
    }
    path.write_text(json.dumps(config))
    path.chmod(0o600)
    return path
