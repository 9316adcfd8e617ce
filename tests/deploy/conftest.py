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
import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
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


def _load_local_cluster() -> Any:
    spec = importlib.util.spec_from_file_location(
        "local_cluster", REPO / "hack" / "local_cluster.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _cluster_dir() -> Iterator[None]:
    """hack/cluster reads TRANSFER_OPERATOR_CLUSTER_DIR from the environment it inherits."""
    old = os.environ.get("TRANSFER_OPERATOR_CLUSTER_DIR")
    os.environ["TRANSFER_OPERATOR_CLUSTER_DIR"] = str(CLUSTER_DIR)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TRANSFER_OPERATOR_CLUSTER_DIR", None)
        else:
            os.environ["TRANSFER_OPERATOR_CLUSTER_DIR"] = old


# --------------------------------------------------------------------------- tools
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
    def apply(self, manifest: dict[str, Any] | str, *args: str) -> str:
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        return self.run("apply", *args, "-f", "-", input=text).stdout

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
    env = dict(os.environ)
    for key in [k for k in env if k.startswith(("AWS_", "AZURE_", "GOOGLE_"))]:
        del env[key]
    if kubeconfig := os.environ.get("TRANSFER_OPERATOR_DEPLOY_KUBECONFIG"):
        env["KUBECONFIG"] = kubeconfig
        yield env
        return
    cluster = _load_local_cluster()
    with _cluster_dir():
        env.update(cluster.up())
    try:
        yield env
    finally:
        with _cluster_dir():
            cluster.down()


@pytest.fixture(scope="package")
def kubectl(kube_env: dict[str, str]) -> Kubectl:
    return Kubectl("kubectl", kube_env)


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OperatorProcess:
    """`transfer-operator run` with the arguments the chart's Deployment passes."""

    def __init__(self, env: dict[str, str], args: list[str], log_path: Path) -> None:
        self.env = env
        self.args = args
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        health_port = _free_port()
        argv = [sys.executable, "-m", "transfer_operator", "run", *self.args]
        argv += ["--metrics-port", str(_free_port()), "--health-port", str(health_port)]
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

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])
