"""A TransferRequest's life, driven the way a user drives it: kubectl apply, get, annotate."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Requests, condition
from tests.support import OperatorProcess

PARTIAL = ".transfer-partial"


def file_url(path: Path, prefix: bool = False) -> str:
    return f"file://{path}{'/' if prefix else ''}"


def write_random(path: Path, size: int) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = os.urandom(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(PARTIAL)]


def phase(obj: dict[str, Any]) -> str | None:
    return obj.get("status", {}).get("phase")


def test_happy_path_single_file(requests: Requests, tmp_path: Path) -> None:
    digest = write_random(tmp_path / "src" / "data.bin", 3 * 2**20 + 17)
    destination = tmp_path / "dst" / "data.bin"
    requests.create(
        "copy",
        {
            "source": {"url": file_url(tmp_path / "src" / "data.bin")},
            "destination": {"url": file_url(destination)},
        },
    )

    obj = requests.wait_phase("copy", "Succeeded")
    status = obj["status"]
    assert hashlib.sha256(destination.read_bytes()).hexdigest() == digest
    assert status["checksum"] == {"algorithm": "sha256", "value": digest}
    assert status["progress"]["percent"] == 100
    assert status["progress"]["bytesDone"] == status["progress"]["bytesTotal"] == 3 * 2**20 + 17
    assert status["attempts"] == 1
    assert status["observedGeneration"] == obj["metadata"]["generation"]
    assert condition(obj, "Ready")["status"] == "True"
    assert condition(obj, "Progressing")["status"] == "False"
    assert leftovers(tmp_path) == []

    table = requests.kubectl.run("get", "tr", "copy", "-n", requests.namespace).stdout.splitlines()
    assert table[0].split() == [
        "NAME",
        "PHASE",
        "PROGRESS",
        "ATTEMPTS",
        "SOURCE",
        "DESTINATION",
        "AGE",
    ]
    row = table[1].split()
    assert row[:4] == ["copy", "Succeeded", "100", "1"]
    assert row[4:6] == [file_url(tmp_path / "src" / "data.bin"), file_url(destination)]
    assert requests.wait_event("copy", "Succeeded")["type"] == "Normal"
    assert requests.wait_event("copy", "Started")["message"] == "attempt 1 of 5"


def test_prefix_with_filters(requests: Requests, tmp_path: Path) -> None:
    src = tmp_path / "src"
    for name in ("a.gz", "b.tmp", "logs/c.gz", "logs/d.txt"):
        write_random(src / name, 1000)
    requests.create(
        "prefix",
        {
            "source": {"url": file_url(src, True)},
            "destination": {"url": file_url(tmp_path / "dst", True)},
            "include": ["*.gz"],
            "concurrency": 2,
        },
    )
    obj = requests.wait_phase("prefix", "Succeeded")
    copied = sorted(str(p.relative_to(tmp_path / "dst")) for p in (tmp_path / "dst").rglob("*.*"))
    assert copied == ["a.gz", "logs/c.gz"]
    assert (
        obj["status"]["progress"]["objectsDone"] == obj["status"]["progress"]["objectsTotal"] == 2
    )
    assert "checksum" not in obj["status"]  # only single-object transfers carry one


@pytest.mark.parametrize(
    ("spec_change", "message"),
    [
        ({"source": {"url": "ftp://host/file"}}, "spec.source.url"),
        ({"overwrite": "Sometimes"}, 'Unsupported value: "Sometimes"'),
        (
            {"retry": {"initialDelaySeconds": 600, "maxDelaySeconds": 60}},
            "spec.retry.initialDelaySeconds must not exceed spec.retry.maxDelaySeconds",
        ),
        ({"deleteSource": True, "verify": False}, "deleteSource needs verify: true"),
        (
            {"destination": {"url": "https://example.com/x"}},
            "https:// is supported as a source only",
        ),
        ({"concurrency": 0}, "spec.concurrency"),
    ],
)
def test_admission_rejects_invalid_manifests(
    requests: Requests, tmp_path: Path, spec_change: dict[str, Any], message: str
) -> None:
    spec = {
        "source": {"url": file_url(tmp_path / "a")},
        "destination": {"url": file_url(tmp_path / "b")},
    }
    result = requests.kubectl.apply(requests.manifest("bad", {**spec, **spec_change}), check=False)
    assert result.returncode != 0
    assert "is invalid" in result.stderr and message in result.stderr, result.stderr
    assert requests.kubectl.run("get", "tr", "-n", requests.namespace, "-o", "name").stdout == ""


def test_source_and_destination_are_immutable(requests: Requests, tmp_path: Path) -> None:
    requests.create(
        "pinned",
        {
            "source": {"url": file_url(tmp_path / "missing")},
            "destination": {"url": file_url(tmp_path / "out")},
            "suspend": True,
        },
    )
    for field in ("source", "destination"):
        change = {field: {"url": file_url(tmp_path / "elsewhere")}}
        result = requests.patch_spec("pinned", change, check=False)
        assert result.returncode != 0
        assert f"spec.{field}.url is immutable" in result.stderr, result.stderr


def test_permanent_error_fails_without_retries(requests: Requests, tmp_path: Path) -> None:
    requests.create(
        "missing",
        {
            "source": {"url": file_url(tmp_path / "nope.bin")},
            "destination": {"url": file_url(tmp_path / "out.bin")},
        },
    )
    obj = requests.wait_phase("missing", "Failed")
    status = obj["status"]
    assert status["attempts"] == 1
    assert status["lastError"]["reason"] == "SourceNotFound"
    assert status["lastError"]["retryable"] is False
    assert "nope.bin does not exist" in status["lastError"]["message"]
    ready = condition(obj, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "SourceNotFound")
    assert requests.wait_event("missing", "SourceNotFound")["type"] == "Warning"
    assert [e["reason"] for e in requests.events("missing") if e["type"] == "Warning"] == [
        "SourceNotFound"
    ]


@pytest.fixture
def small_disk(tmp_path: Path) -> Any:
    """A 1 MiB tmpfs: a destination that is full until someone makes room."""
    if os.geteuid() != 0:
        pytest.fail("this test mounts a tmpfs and must run as root (CI does)")
    mount = tmp_path / "small-disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def test_dead_letter_then_redrive(requests: Requests, tmp_path: Path, small_disk: Path) -> None:
    digest = write_random(tmp_path / "big.bin", 2 * 2**20)
    requests.create(
        "full",
        {
            "source": {"url": file_url(tmp_path / "big.bin")},
            "destination": {"url": file_url(small_disk / "big.bin")},
            "retry": {"maxAttempts": 3, "initialDelaySeconds": 1, "maxDelaySeconds": 2},
        },
    )
    obj = requests.wait_phase("full", "DeadLettered")
    status = obj["status"]
    assert status["attempts"] == 3
    assert status["lastError"]["reason"] == "IOError" and status["lastError"]["retryable"]
    assert "No space left on device" in status["lastError"]["message"]
    assert condition(obj, "DeadLettered")["status"] == "True"
    assert condition(obj, "Ready")["status"] == "False"
    assert obj["metadata"]["labels"]["transfer.dev/dead-letter"] == "true"
    dlq = requests.kubectl.run(
        "get", "tr", "-n", requests.namespace, "-l", "transfer.dev/dead-letter", "-o", "name"
    ).stdout.split()
    assert dlq == ["transferrequest.transfer.dev/full"]
    assert requests.wait_event("full", "DeadLettered")["type"] == "Warning"
    retry_events = [e for e in requests.events("full") if e["reason"] == "Retrying"]
    assert sum(e.get("count", 1) for e in retry_events) == 2
    assert leftovers(small_disk) == []

    # An administrator makes room and re-drives.
    subprocess.run(["mount", "-o", "remount,size=8m", str(small_disk)], check=True)
    requests.kubectl.run(
        "annotate",
        "tr",
        "full",
        "-n",
        requests.namespace,
        "transfer.dev/redrive=after-cleanup",
        "--overwrite",
    )
    obj = requests.wait_phase("full", "Succeeded")
    assert obj["status"]["attempts"] == 1
    assert obj["status"]["lastRedrive"] == "after-cleanup"
    assert "transfer.dev/dead-letter" not in obj["metadata"].get("labels", {})
    assert condition(obj, "DeadLettered")["status"] == "False"
    assert hashlib.sha256((small_disk / "big.bin").read_bytes()).hexdigest() == digest


def test_delete_during_transfer_cancels_and_cleans_up(requests: Requests, tmp_path: Path) -> None:
    write_random(tmp_path / "slow.bin", 16 * 2**20)
    destination = tmp_path / "dst" / "slow.bin"
    requests.create(
        "doomed",
        {
            "source": {"url": file_url(tmp_path / "slow.bin")},
            "destination": {"url": file_url(destination)},
            "bandwidthLimit": "1Mi",
        },
    )
    requests.wait(
        "doomed",
        lambda o: o.get("status", {}).get("progress", {}).get("bytesDone", 0) > 0,
        what="bytes flowing",
    )
    assert leftovers(tmp_path), "a partial upload should exist mid-transfer"
    requests.kubectl.run("delete", "tr", "doomed", "-n", requests.namespace, "--timeout=15s")
    gone = requests.kubectl.run("get", "tr", "doomed", "-n", requests.namespace, check=False)
    assert "NotFound" in gone.stderr
    assert leftovers(tmp_path) == [] and not destination.exists()


def test_suspend_and_resume(requests: Requests, tmp_path: Path) -> None:
    digest = write_random(tmp_path / "src.bin", 4 * 2**20)
    destination = tmp_path / "dst.bin"
    requests.create(
        "later",
        {
            "source": {"url": file_url(tmp_path / "src.bin")},
            "destination": {"url": file_url(destination)},
            "suspend": True,
        },
    )
    obj = requests.wait_phase("later", "Suspended")
    assert condition(obj, "Progressing")["reason"] == "Suspended"
    assert not destination.exists()

    # Suspending a running transfer stops it at once and leaves nothing partial.
    requests.patch_spec("later", {"suspend": False, "bandwidthLimit": "1Mi"})
    requests.wait("later", lambda o: o["status"].get("progress", {}).get("bytesDone", 0) > 0)
    requests.patch_spec("later", {"suspend": True})
    obj = requests.wait_phase("later", "Suspended")
    requests.wait("later", lambda _: not leftovers(tmp_path), timeout=10, what="temp file removed")
    assert not destination.exists()

    requests.patch_spec("later", {"suspend": False, "bandwidthLimit": None})
    obj = requests.wait_phase("later", "Succeeded")
    assert obj["status"]["attempts"] == 1  # suspended attempts are given back
    assert hashlib.sha256(destination.read_bytes()).hexdigest() == digest


def test_operator_killed_mid_transfer_resumes_without_copying_twice(
    requests: Requests, operator: OperatorProcess, tmp_path: Path
) -> None:
    # A request that finished before the crash must not run again after it.
    write_random(tmp_path / "done.bin", 1000)
    requests.create(
        "finished",
        {
            "source": {"url": file_url(tmp_path / "done.bin")},
            "destination": {"url": file_url(tmp_path / "done-copy.bin")},
        },
    )
    finished = requests.wait_phase("finished", "Succeeded")
    finished_inode = (tmp_path / "done-copy.bin").stat().st_ino

    src = tmp_path / "many"
    digests = {f"part-{i}.bin": write_random(src / f"part-{i}.bin", 2**20) for i in range(6)}
    requests.create(
        "crash",
        {
            "source": {"url": file_url(src, True)},
            "destination": {"url": file_url(tmp_path / "out", True)},
            "concurrency": 1,
            "bandwidthLimit": "1Mi",
        },
    )
    requests.wait(
        "crash",
        lambda o: o.get("status", {}).get("progress", {}).get("objectsDone", 0) >= 2,
        timeout=60,
        what="two objects copied",
    )
    operator.kill()
    early = {p.name: p.stat().st_ino for p in (tmp_path / "out").glob("part-*.bin")}
    assert len(early) >= 2
    assert phase(requests.get("crash")) == "Running"

    operator.start()
    obj = requests.wait_phase("crash", "Succeeded", timeout=90)
    assert obj["status"]["attempts"] == 1  # an operator crash is not the transfer's failure
    for name, digest in digests.items():
        assert hashlib.sha256((tmp_path / "out" / name).read_bytes()).hexdigest() == digest
    for name, inode in early.items():  # what was delivered before the crash was not rewritten
        assert (tmp_path / "out" / name).stat().st_ino == inode, name
    assert leftovers(tmp_path) == []

    again = requests.get("finished")
    assert again["status"]["completionTime"] == finished["status"]["completionTime"]
    assert (tmp_path / "done-copy.bin").stat().st_ino == finished_inode
    assert [e["reason"] for e in requests.events("finished")].count("Started") == 1


def test_operator_logs_are_json_with_request_identity(
    requests: Requests, operator: OperatorProcess, tmp_path: Path
) -> None:
    write_random(tmp_path / "a.bin", 10)
    requests.create(
        "logged",
        {
            "source": {"url": file_url(tmp_path / "a.bin")},
            "destination": {"url": file_url(tmp_path / "b.bin")},
        },
    )
    obj = requests.wait_phase("logged", "Succeeded")
    uid = obj["metadata"]["uid"]
    lines = [json.loads(line) for line in operator.log_path.read_text().splitlines() if line]
    mine = [line for line in lines if line.get("uid") == uid]
    assert any(line["event"] == "attempt succeeded" and line["attempt"] == 1 for line in mine)
    assert all(
        line["namespace"] == requests.namespace and line["name"] == "logged" for line in mine
    )
    assert any(line.get("logger", "").startswith("kopf") for line in mine), (
        "kopf's records carry the uid too"
    )


def test_metrics_are_exposed(requests: Requests, operator: OperatorProcess, tmp_path: Path) -> None:
    write_random(tmp_path / "m.bin", 4096)
    requests.create(
        "measured",
        {
            "source": {"url": file_url(tmp_path / "m.bin")},
            "destination": {"url": file_url(tmp_path / "n.bin")},
        },
    )
    requests.wait_phase("measured", "Succeeded")
    text = operator.metrics()
    for name in (
        'transfer_operator_transfers_total{result="succeeded"}',
        'transfer_operator_transferred_bytes_total{destination_scheme="file",source_scheme="file"}',
        "transfer_operator_attempt_duration_seconds_bucket",
        "transfer_operator_transfers_in_flight",
        'transfer_operator_requests{phase="Succeeded"}',
    ):
        assert name in text, name


def test_missing_credentials_secret_fails_precisely(requests: Requests, tmp_path: Path) -> None:
    write_random(tmp_path / "a.bin", 10)
    requests.create(
        "no-secret",
        {
            "source": {
                "url": file_url(tmp_path / "a.bin"),
                "credentialsSecretRef": {"name": "gone"},
            },
            "destination": {"url": file_url(tmp_path / "b.bin")},
        },
    )
    status = requests.wait_phase("no-secret", "Failed")["status"]
    assert status["attempts"] == 1
    assert status["lastError"]["reason"] == "CredentialsSecretNotFound"
    assert status["lastError"]["message"] == f"Secret {requests.namespace}/gone does not exist"
    assert not (tmp_path / "b.bin").exists()


def test_secret_values_never_leave_the_secret(
    requests: Requests, operator: OperatorProcess, tmp_path: Path
) -> None:
    canary = "CANARY-d0n7-l34k-" + os.urandom(8).hex()
    requests.kubectl.run(
        "create",
        "secret",
        "generic",
        "creds",
        "-n",
        requests.namespace,
        f"--from-literal=AWS_SECRET_ACCESS_KEY={canary}",
        f"--from-literal=AWS_ACCESS_KEY_ID={canary}",
    )
    write_random(tmp_path / "a.bin", 10)
    ref = {"credentialsSecretRef": {"name": "creds"}}
    requests.create(
        "with-secret",
        {
            "source": {"url": file_url(tmp_path / "a.bin"), **ref},
            "destination": {"url": file_url(tmp_path / "b.bin"), **ref},
        },
    )
    requests.wait_phase("with-secret", "Succeeded")
    requests.create(
        "failing",
        {
            "source": {"url": file_url(tmp_path / "nope"), **ref},
            "destination": {"url": file_url(tmp_path / "c.bin"), **ref},
        },
    )
    requests.wait_phase("failing", "Failed")
    seen = [
        json.dumps(requests.get("with-secret")),
        json.dumps(requests.get("failing")),
        json.dumps(requests.events("with-secret") + requests.events("failing")),
        operator.log_path.read_text(),
    ]
    assert not any(canary in text for text in seen)
