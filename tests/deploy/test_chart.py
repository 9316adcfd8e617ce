"""The chart as rendered: lint, the values schema, what the manifests say, and that the real
API server accepts them (`kubectl apply --dry-run=server`) in both RBAC modes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.conftest import CHART, Helm, unique
from tests.support import Kubectl


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (doc,) = by_kind(docs, kind)
    return doc


def test_helm_lint(helm_offline: Helm) -> None:
    result = helm_offline.run("lint", "--strict", str(CHART))
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--set", "maxConcurrentTransfers=lots"],
            "at '/maxConcurrentTransfers': got string, want integer",
        ),
        (["--set", "logLevel=LOUD"], "at '/logLevel': value must be one of"),
        (
            ["--set-json", 'watchNamespaces="team-a"'],
            "at '/watchNamespaces': got string, want array",
        ),
        (["--set", "watchNamespaces={team-*}"], "at '/watchNamespaces/0'"),
        (["--set", "rbac.readSecrets=maybe"], "at '/rbac/readSecrets': got string, want boolean"),
        (["--set", "metrics.port=99999"], "at '/metrics/port'"),
        (["--set", "image.pullPolicy=Sometimes"], "at '/image/pullPolicy'"),
        (["--set", "logLevl=INFO"], "additional properties 'logLevl' not allowed"),
    ],
)
def test_schema_rejects_wrong_values(helm_offline: Helm, args: list[str], message: str) -> None:
    result = helm_offline.template(*args, check=False)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert message in result.stderr, result.stderr


def test_defaults_render_a_hardened_singleton(helm_offline: Helm) -> None:
    docs = helm_offline.render("--namespace", "ops")
    deployment = one(docs, "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == pod["securityContext"]["runAsGroup"] == 1001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["serviceAccountName"] == one(docs, "ServiceAccount")["metadata"]["name"]
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert container["image"] == "transfer-operator:0.1.0"  # appVersion
    assert container["args"] == [
        "--log-level=INFO",
        "--max-concurrent-transfers=8",
        "--progress-interval=5",
        "--metrics-port=9090",
        "--health-port=8080",
    ]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {
        "metrics": 9090,
        "health": 8080,
    }
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}} in pod["volumes"]
    # Standard labels on everything; the Service selects the pod.
    for doc in docs:
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "transfer-operator"
        assert labels["app.kubernetes.io/instance"] == "r"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["helm.sh/chart"] == "transfer-operator-0.1.0"
    service = one(docs, "Service")
    assert service["spec"]["selector"].items() <= spec["template"]["metadata"]["labels"].items()
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}
    ]
    # Optional objects are off by default.
    assert not by_kind(docs, "ServiceMonitor")
    assert not by_kind(docs, "PodDisruptionBudget")


def test_values_become_args_and_identity_annotations(helm_offline: Helm) -> None:
    docs = helm_offline.render(
        "--set", "watchNamespaces={team-a,team-b}",
        "--set", "logLevel=DEBUG",
        "--set", "maxConcurrentTransfers=3",
        "--set", "progressInterval=2.5",
        "--set", "image.tag=dev",
        "--set-json", 'serviceAccount.annotations={"azure.workload.identity/client-id":"abc"}',
        "--set-json", 'podLabels={"azure.workload.identity/use":"true"}',
    )  # fmt: skip
    pod = one(docs, "Deployment")["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["args"][:5] == [
        "--namespace=team-a",
        "--namespace=team-b",
        "--log-level=DEBUG",
        "--max-concurrent-transfers=3",
        "--progress-interval=2.5",
    ]
    assert container["image"] == "transfer-operator:dev"
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    sa = one(docs, "ServiceAccount")
    assert sa["metadata"]["annotations"] == {"azure.workload.identity/client-id": "abc"}


def test_service_monitor_and_pdb_when_enabled(helm_offline: Helm) -> None:
    docs = helm_offline.render(
        "--namespace", "ops",
        "--set", "metrics.serviceMonitor.enabled=true",
        "--set", "metrics.serviceMonitor.labels.release=prom",
        "--set", "podDisruptionBudget.enabled=true",
    )  # fmt: skip
    monitor = one(docs, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["ops"]}
    service = one(docs, "Service")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
    pdb = one(docs, "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 0
    pod_labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    failed = helm_offline.template(
        "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.service.enabled=false",
        check=False,
    )  # fmt: skip
    assert failed.returncode != 0 and "needs metrics.service.enabled=true" in failed.stderr


def rules(doc: dict[str, Any]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [
        (group, resource, tuple(rule["verbs"]))
        for rule in doc["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    ]


TR_RULES = [
    ("transfer.dev", "transferrequests", ("get", "list", "watch", "patch")),
    ("transfer.dev", "transferrequests/status", ("patch",)),
    ("", "events", ("create",)),
]
SECRETS = ("", "secrets", ("get",))
CRDS = ("apiextensions.k8s.io", "customresourcedefinitions", ("list", "watch"))
NAMESPACES = ("", "namespaces", ("list", "watch"))


def test_rbac_cluster_wide_mode(helm_offline: Helm) -> None:
    docs = helm_offline.render()
    assert not by_kind(docs, "Role") and not by_kind(docs, "RoleBinding")
    assert rules(one(docs, "ClusterRole")) == [*TR_RULES, SECRETS, CRDS]
    without_secrets = helm_offline.render("--set", "rbac.readSecrets=false")
    assert rules(one(without_secrets, "ClusterRole")) == [*TR_RULES, CRDS]


def test_rbac_namespaced_mode(helm_offline: Helm) -> None:
    docs = helm_offline.render("--namespace", "ops", "--set", "watchNamespaces={team-a,team-b}")
    assert rules(one(docs, "ClusterRole")) == [CRDS, NAMESPACES]
    roles = by_kind(docs, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    for role in roles:
        assert rules(role) == [*TR_RULES, SECRETS]
    bindings = by_kind(docs, "RoleBinding")
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["team-a", "team-b"]
    for binding in [*bindings, one(docs, "ClusterRoleBinding")]:
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "r-transfer-operator", "namespace": "ops"}
        ]
    assert not by_kind(helm_offline.render("--set", "rbac.create=false"), "ClusterRole")


@pytest.mark.parametrize("mode", ["cluster-wide", "namespaced"])
def test_rendered_chart_accepted_by_the_api_server(
    helm_offline: Helm, kubectl: Kubectl, mode: str
) -> None:
    release_ns, watched = unique("dry-ops"), unique("dry-team")
    for ns in (release_ns, watched):
        kubectl.run("create", "namespace", ns)
    args = [
        "--namespace",
        release_ns,
        "--include-crds",
        "--set",
        "podDisruptionBudget.enabled=true",
    ]
    if mode == "namespaced":
        args += ["--set", f"watchNamespaces={{{watched}}}"]
    manifest = helm_offline.template(*args).stdout
    out = kubectl.apply(manifest, "--dry-run=server").stdout
    kinds = {line.split("/")[0].split(".")[0] for line in out.splitlines()}
    expected = {"customresourcedefinition", "serviceaccount", "clusterrole", "clusterrolebinding",
                "service", "deployment", "poddisruptionbudget"}  # fmt: skip
    if mode == "namespaced":
        expected |= {"role", "rolebinding"}
    assert kinds == expected, out
    assert all(line.endswith("(server dry run)") for line in out.splitlines()), out
