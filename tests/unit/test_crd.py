"""Static checks of the TransferRequest CRD and of the examples written against it.

No API server here: these tests read the YAML. They pin the user-facing contract from
DESIGN.md (names, enums, defaults, printer columns), make sure every field is documented
for `kubectl explain`, and check each example against the schema with a small validator
(types, enums, ranges, patterns, unknown keys), so a typo in an example fails here rather
than at `kubectl apply`. Admission itself (structural schema, CEL) is exercised against a
real kube-apiserver by the e2e suite.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CRD_PATH = ROOT / "crds" / "transferrequests.transfer.dev.yaml"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))

Schema = dict[str, Any]


@pytest.fixture(scope="module")
def crd() -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load(CRD_PATH.read_text()))


@pytest.fixture(scope="module")
def version(crd: dict[str, Any]) -> dict[str, Any]:
    (v,) = crd["spec"]["versions"]
    return cast(dict[str, Any], v)


@pytest.fixture(scope="module")
def root(version: dict[str, Any]) -> Schema:
    return cast(Schema, version["schema"]["openAPIV3Schema"])


@pytest.fixture(scope="module")
def spec(root: Schema) -> Schema:
    return cast(Schema, root["properties"]["spec"])


@pytest.fixture(scope="module")
def status(root: Schema) -> Schema:
    return cast(Schema, root["properties"]["status"])


def url_pattern(spec: Schema, side: str) -> str:
    return cast(str, spec["properties"][side]["properties"]["url"]["pattern"])


def rules(schema: Schema) -> dict[str, str]:
    return {r["rule"]: r["message"] for r in schema.get("x-kubernetes-validations", [])}


def walk(schema: Schema, path: str) -> Iterator[tuple[str, Schema]]:
    """Yield (path, schema) for every property and array item below `schema`."""
    for name, sub in schema.get("properties", {}).items():
        yield f"{path}.{name}", sub
        yield from walk(sub, f"{path}.{name}")
    if "items" in schema:
        yield f"{path}[]", schema["items"]
        yield from walk(schema["items"], f"{path}[]")


# --- a minimal validator for examples: the OpenAPI subset this CRD uses ------------------


def check(value: Any, schema: Schema, path: str) -> list[str]:
    """Errors for `value` against a structural schema (no CEL, no formats)."""
    errors: list[str] = []
    if schema.get("x-kubernetes-int-or-string"):
        if isinstance(value, bool) or not isinstance(value, int | str):
            return [f"{path}: must be an integer or a string"]
    elif schema.get("x-kubernetes-preserve-unknown-fields") and "properties" not in schema:
        return []
    else:
        expected = {
            "object": dict,
            "array": list,
            "string": str,
            "boolean": bool,
            "integer": int,
        }[schema["type"]]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            return [f"{path}: must be {schema['type']}, got {value!r}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    if isinstance(value, int) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: {value} < minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: {value} > maximum {schema['maximum']}")
    if isinstance(value, str):
        if "pattern" in schema and ("\n" in value or not re.search(schema["pattern"], value)):
            errors.append(f"{path}: {value!r} does not match {schema['pattern']!r}")
        if len(value) > schema.get("maxLength", len(value)):
            errors.append(f"{path}: longer than {schema['maxLength']}")
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{path}: shorter than {schema['minLength']}")
    if isinstance(value, list):
        if len(value) > schema.get("maxItems", len(value)):
            errors.append(f"{path}: more than {schema['maxItems']} items")
        for i, item in enumerate(value):
            errors += check(item, schema["items"], f"{path}[{i}]")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{path}.{key}: required")
        for key, item in value.items():
            if key not in props:
                errors.append(f"{path}.{key}: unknown field (typo?)")
            else:
                errors += check(item, props[key], f"{path}.{key}")
    return errors


# --- names, scope, subresources ----------------------------------------------------------


def test_names_and_scope(crd: dict[str, Any]) -> None:
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["kind"] == "CustomResourceDefinition"
    assert crd["metadata"]["name"] == "transferrequests.transfer.dev"
    s = crd["spec"]
    assert s["group"] == "transfer.dev"
    assert s["scope"] == "Namespaced"
    names = s["names"]
    assert names["kind"] == "TransferRequest"
    assert names["plural"] == "transferrequests"
    assert names["singular"] == "transferrequest"
    assert names["shortNames"] == ["tr"]
    assert "transfer" in names["categories"]


def test_single_served_storage_version_with_status_subresource(version: dict[str, Any]) -> None:
    assert version["name"] == "v1alpha1"
    assert version["served"] is True
    assert version["storage"] is True
    assert version["subresources"] == {"status": {}}


def test_spec_is_required_and_needs_source_and_destination(root: Schema, spec: Schema) -> None:
    assert root["type"] == "object"
    assert "spec" in root["required"]
    assert set(spec["required"]) == {"source", "destination"}
    for side in ("source", "destination"):
        assert spec["properties"][side]["required"] == ["url"]


def test_printer_columns(version: dict[str, Any]) -> None:
    columns = version["additionalPrinterColumns"]
    default_view = [c["name"] for c in columns if c.get("priority", 0) == 0]
    assert default_view == ["Phase", "Progress", "Attempts", "Source", "Destination", "Age"]
    by_name = {c["name"]: c for c in columns}
    assert by_name["Phase"]["jsonPath"] == ".status.phase"
    assert by_name["Progress"]["jsonPath"] == ".status.progress.percent"
    assert by_name["Attempts"]["jsonPath"] == ".status.attempts"
    assert by_name["Attempts"]["type"] == "integer"
    assert by_name["Source"]["jsonPath"] == ".spec.source.url"
    assert by_name["Destination"]["jsonPath"] == ".spec.destination.url"
    assert (by_name["Age"]["type"], by_name["Age"]["jsonPath"]) == (
        "date",
        ".metadata.creationTimestamp",
    )
    for column in columns:
        assert column["type"] in {"string", "integer", "number", "boolean", "date"}
        assert column.get("description"), column["name"]


# --- documentation -----------------------------------------------------------------------


def test_every_field_has_a_description(root: Schema) -> None:
    assert root.get("description", "").strip()
    missing = [
        path
        for top in ("apiVersion", "kind", "spec", "status")
        for path, sub in [(top, root["properties"][top]), *walk(root["properties"][top], top)]
        if not str(sub.get("description", "")).strip()
    ]
    assert missing == [], f"fields without a description (kubectl explain shows nothing): {missing}"


def test_descriptions_name_the_defaults(spec: Schema) -> None:
    """A default should be discoverable from `kubectl explain`, not only from the schema."""
    p = spec["properties"]
    fields = [p[name] for name in ("overwrite", "concurrency", "verify", "deleteSource", "suspend")]
    fields += list(p["retry"]["properties"].values())
    for field in fields:
        assert "default" in field
        assert "default" in field["description"].lower(), field["description"]


# --- spec: enums, ranges, defaults -------------------------------------------------------


def test_spec_enums_and_defaults(spec: Schema) -> None:
    p = spec["properties"]
    assert p["overwrite"]["enum"] == ["Never", "IfDifferent", "Always"]
    assert p["overwrite"]["default"] == "IfDifferent"
    assert (p["verify"]["type"], p["verify"]["default"]) == ("boolean", True)
    assert (p["deleteSource"]["type"], p["deleteSource"]["default"]) == ("boolean", False)
    assert (p["suspend"]["type"], p["suspend"]["default"]) == ("boolean", False)
    c = p["concurrency"]
    assert (c["type"], c["minimum"], c["maximum"], c["default"]) == ("integer", 1, 64, 4)


def test_retry_ranges_and_defaults(spec: Schema) -> None:
    retry = spec["properties"]["retry"]
    r = retry["properties"]
    expected = {
        "maxAttempts": (1, 100, 5),
        "initialDelaySeconds": (0, 3600, 2),
        "maxDelaySeconds": (1, 86400, 300),
    }
    for name, (lo, hi, default) in expected.items():
        assert r[name]["type"] == "integer"
        assert (r[name]["minimum"], r[name]["maximum"], r[name]["default"]) == (lo, hi, default)
    # An omitted retry gets the full default policy; it must agree with the nested defaults
    # (spelled out because the API server checks a default against CEL rules as written).
    assert retry["default"] == {name: d for name, (_, _, d) in expected.items()}


def test_include_exclude(spec: Schema) -> None:
    for name in ("include", "exclude"):
        field = spec["properties"][name]
        assert field["type"] == "array"
        assert field["maxItems"] == 100
        assert field["items"]["type"] == "string"
        assert field["items"]["maxLength"] == 1024


def test_locations(spec: Schema) -> None:
    for side in ("source", "destination"):
        loc = spec["properties"][side]["properties"]
        assert loc["url"]["maxLength"] == 2048
        ref = loc["credentialsSecretRef"]
        assert ref["required"] == ["name"]
        name = ref["properties"]["name"]
        assert name["maxLength"] == 253
        assert re.search(name["pattern"], "aws-creds")
        assert re.search(name["pattern"], "gcs.creds-2")
        for bad in ("Aws", "aws_creds", "-aws", "aws-", ""):
            assert not re.search(name["pattern"], bad), bad
        assert re.search(loc["endpoint"]["pattern"], "http://minio.storage:9000")
        assert not re.search(loc["endpoint"]["pattern"], "minio:9000")
        assert loc["region"]["type"] == "string"


URLS_OK = [
    "s3://bucket/key",
    "s3://bucket",
    "s3://raw-logs/2026/11/",
    "gs://archive-logs/2026/11/",
    "az://container/dir/blob.bin",
    "https://downloads.example.com/a.tar.gz",
    "file:///tmp/transfer-demo/src/hello.txt",
    "file:///tmp/transfer-demo/src/",
]
URLS_BAD = [
    "ftp://x",
    "http://example.com/a",
    "s3://",
    "s3:///key",
    "s3://buck et/key",
    "S3://bucket/key",
    "gcs://bucket/key",
    "file://tmp/relative",
    "file:///",
    "/tmp/plain/path",
    "https://",
    "",
]


@pytest.mark.parametrize("side", ["source", "destination"])
@pytest.mark.parametrize("url", URLS_OK)
def test_url_pattern_accepts(spec: Schema, side: str, url: str) -> None:
    assert re.search(url_pattern(spec, side), url)


@pytest.mark.parametrize("side", ["source", "destination"])
@pytest.mark.parametrize("url", URLS_BAD)
def test_url_pattern_rejects(spec: Schema, side: str, url: str) -> None:
    assert not re.search(url_pattern(spec, side), url)


BANDWIDTH_OK = ["50Mi", "1G", "500k", "1048576", "1.5Gi", "1.5M", "0.5k", "2Ti", "10E"]
BANDWIDTH_BAD = [
    "0",
    "0.0",
    "00",
    "1.5",
    "0.5",
    "50MB",
    "1K",
    "100m",
    "-1",
    "abc",
    "",
    "1e6",
    "5 Mi",
]


def test_bandwidth_limit_is_a_positive_quantity(spec: Schema) -> None:
    bw = spec["properties"]["bandwidthLimit"]
    assert bw["x-kubernetes-int-or-string"] is True
    assert "type" not in bw
    assert bw["minimum"] == 1
    for ok in BANDWIDTH_OK:
        assert re.search(bw["pattern"], ok), ok
    for bad in BANDWIDTH_BAD:
        assert not re.search(bw["pattern"], bad), bad
    assert check(1048576, bw, "bw") == []
    assert check(0, bw, "bw") != []
    assert check(1.5, bw, "bw") != []


# --- CEL rules -----------------------------------------------------------------------------


def test_cel_rules(spec: Schema) -> None:
    p = spec["properties"]
    assert rules(p["source"]["properties"]["url"]) == {
        "self == oldSelf": "spec.source.url is immutable; "
        "create a new TransferRequest to copy from a different source",
    }
    assert rules(p["destination"]["properties"]["url"]) == {
        "self == oldSelf": "spec.destination.url is immutable; "
        "create a new TransferRequest to copy to a different destination",
    }
    spec_rules = rules(spec)
    assert spec_rules["self.source.url != self.destination.url"] == (
        "source and destination must differ"
    )
    assert spec_rules["!self.deleteSource || self.verify"] == (
        "deleteSource needs verify: true: the source is only deleted after a verified copy"
    )
    assert rules(p["retry"])["self.initialDelaySeconds <= self.maxDelaySeconds"] == (
        "spec.retry.initialDelaySeconds must not exceed spec.retry.maxDelaySeconds"
    )
    assert rules(p["destination"])["!self.url.startsWith('https://')"] == (
        "https:// is supported as a source only"
    )


def test_cel_rules_are_well_formed(root: Schema) -> None:
    """Every rule has a message; fieldPath, when set, names a field that exists."""
    nodes = [("", root), *walk(root, "")]
    found = 0
    for _, node in nodes:
        for rule in node.get("x-kubernetes-validations", []):
            found += 1
            assert rule["rule"].strip()
            assert rule["message"].strip()
            assert "\n" not in rule["message"]
            if "fieldPath" in rule:
                target: Schema = node
                for part in rule["fieldPath"].lstrip(".").split("."):
                    target = target["properties"][part]
    assert found >= 7


# --- status ------------------------------------------------------------------------------


def test_status_schema(status: Schema) -> None:
    assert "x-kubernetes-preserve-unknown-fields" not in status
    p = status["properties"]
    assert p["phase"]["enum"] == [
        "Pending",
        "Running",
        "Retrying",
        "Succeeded",
        "Failed",
        "DeadLettered",
        "Suspended",
    ]
    assert (p["observedGeneration"]["type"], p["observedGeneration"]["format"]) == (
        "integer",
        "int64",
    )
    assert p["attempts"]["type"] == "integer"
    for name in ("startTime", "completionTime", "nextRetryTime"):
        assert (p[name]["type"], p[name]["format"]) == ("string", "date-time")
    progress = p["progress"]["properties"]
    for name in ("bytesDone", "bytesTotal", "objectsDone", "objectsTotal", "bytesPerSecond"):
        assert (progress[name]["type"], progress[name]["format"]) == ("integer", "int64")
    assert (progress["percent"]["minimum"], progress["percent"]["maximum"]) == (0, 100)
    assert set(p["checksum"]["properties"]) == {"algorithm", "value"}
    err = p["lastError"]["properties"]
    assert set(err) == {"reason", "message", "retryable", "time"}
    assert err["retryable"]["type"] == "boolean"
    assert err["time"]["format"] == "date-time"
    assert p["lastRedrive"]["type"] == "string"
    kopf = p["kopf"]
    assert kopf["type"] == "object"
    assert kopf["x-kubernetes-preserve-unknown-fields"] is True


def test_status_conditions_are_metav1_conditions(status: Schema) -> None:
    conditions = status["properties"]["conditions"]
    assert conditions["type"] == "array"
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    item = conditions["items"]
    assert set(item["required"]) == {"type", "status"}
    p = item["properties"]
    assert set(p) == {
        "type",
        "status",
        "reason",
        "message",
        "lastTransitionTime",
        "observedGeneration",
    }
    assert p["status"]["enum"] == ["True", "False", "Unknown"]
    assert p["lastTransitionTime"]["format"] == "date-time"
    assert (p["observedGeneration"]["type"], p["observedGeneration"]["format"]) == (
        "integer",
        "int64",
    )


# --- examples ------------------------------------------------------------------------------


def test_there_are_examples() -> None:
    names = {path.name for path in EXAMPLES}
    assert {
        "file-to-file.yaml",
        "prefix-with-filters.yaml",
        "s3-to-gcs.yaml",
        "retry-policy.yaml",
    } <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_is_a_valid_transfer_request(path: Path, root: Schema, spec: Schema) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert docs, f"{path.name} holds no document"
    for doc in docs:
        assert doc["apiVersion"] == "transfer.dev/v1alpha1"
        assert doc["kind"] == "TransferRequest"
        assert doc["metadata"]["name"]
        assert "namespace" not in doc["metadata"], "examples are applied with -n"
        assert "status" not in doc
        assert set(doc) <= {"apiVersion", "kind", "metadata", "spec"}
        assert check(doc["spec"], spec, "spec") == []

        s = doc["spec"]
        for side in ("source", "destination"):
            assert re.search(url_pattern(spec, side), s[side]["url"])
        # The CEL rules, mirrored (test_cel_rules pins their text in the CRD).
        assert s["source"]["url"] != s["destination"]["url"]
        assert not s["destination"]["url"].startswith("https://")
        assert not s.get("deleteSource", False) or s.get("verify", True)
        retry = {**spec["properties"]["retry"]["default"], **s.get("retry", {})}
        assert retry["initialDelaySeconds"] <= retry["maxDelaySeconds"]


def test_example_checker_catches_typos(spec: Schema) -> None:
    good = {"source": {"url": "s3://b/k"}, "destination": {"url": "gs://b/k"}}
    assert check(good, spec, "spec") == []
    assert check({**good, "overwrit": "Always"}, spec, "spec") == [
        "spec.overwrit: unknown field (typo?)"
    ]
    assert check({**good, "retry": {"maxAttempt": 3}}, spec, "spec") == [
        "spec.retry.maxAttempt: unknown field (typo?)"
    ]
    assert check({**good, "overwrite": "Sometimes"}, spec, "spec")
    assert check({**good, "concurrency": 65}, spec, "spec")
    assert check({**good, "verify": "yes"}, spec, "spec")
    assert check({**good, "source": {"url": "ftp://x"}}, spec, "spec")
    assert check({"source": good["source"]}, spec, "spec") == ["spec.destination: required"]
