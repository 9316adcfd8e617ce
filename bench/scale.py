"""Many TransferRequests at once: drain time, operator memory, and the API writes it costs.

    .venv/bin/python bench/scale.py [--requests 1000] [--size 65536] [--max-concurrent 16]

Starts a control plane of its own (hack/cluster with TRANSFER_OPERATOR_CLUSTER_DIR), the
operator as a process, creates N single-file TransferRequests with one `kubectl apply`,
and waits until all are Succeeded. Reports the wall time, the operator's peak RSS (VmHWM)
and the API server's own request counters for TransferRequests (writes are etcd writes:
they are the operator's main cost to a cluster). Everything it starts, it stops.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cluster(*args: str) -> str:
    return subprocess.run(
        [sys.executable, str(REPO / "hack" / "cluster"), *args],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip


def kubectl(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    return subprocess.run(
        ["kubectl", *args], input=stdin, env=env, check=True, capture_output=True, text=True
    ).stdout


def request_counts(env: dict[str, str]) -> dict[str, int]:
    """apiserver_request_total for transferrequests, summed by verb[/subresource]."""
    counts: dict[str, int] = {}
    pattern = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
    for line in kubectl(env, "get", "--raw", "/metrics").splitlines():
        match = pattern.match(line)
        if not match or 'resource="transferrequests"' not in match["labels"]:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
        key = labels["verb"] + (f"/{labels['subresource']}" if labels.get("subresource") else "")
        counts[key] = counts.get(key, 0) + int(float(match["value"]))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--size", type=int, default=64 * 1024, help="bytes per file")
    parser.add_argument("--max-concurrent", type=int, default=16)
    args = parser.parse_args()

    os.environ["TRANSFER_OPERATOR_CLUSTER_DIR"] = str(REPO / ".cluster-bench")
    cluster("up")
    env = dict(os.environ)
    for line in cluster("env").splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = value.strip("'")
    operator = None
    try:
        kubectl(env, "apply", "--server-side", "-f", str(REPO / "crds"))
        kubectl(env, "wait", "--for=condition=Established", "crd/transferrequests.transfer.dev")
        kubectl(env, "create", "namespace", "scale")
        work = Path(tempfile.mkdtemp(prefix="transfer-scale."))
        (work / "src").mkdir()
        items = []
        for i in range(args.requests):
            (work / "src" / f"f{i}").write_bytes(os.urandom(args.size))
            items.append({
                "apiVersion": "transfer.dev/v1alpha1", "kind": "TransferRequest",
                "metadata": {"name": f"tr-{i}", "namespace": "scale"},
                "spec": {"source": {"url": f"file://{work}/src/f{i}"},
                         "destination": {"url": f"file://{work}/dst/f{i}"}},
            })  # fmt: skip
        before = request_counts(env)
        log = (work / "operator.log").open("wb")
        health = free_port()
        operator = subprocess.Popen(
            [str(REPO / ".venv" / "bin" / "transfer-operator"), "run",
             "--metrics-port", str(free_port()), "--health-port", str(health),
             "--max-concurrent-transfers", str(args.max_concurrent), "--log-level", "WARNING"],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{health}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        started = time.monotonic()
        kubectl(env, "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List",
                                                           "items": items}))  # fmt: skip
        applied = time.monotonic() - started
        while True:
            phases = kubectl(env, "get", "tr", "-n", "scale", "-o",
                             "jsonpath={.items[*].status.phase}").split()  # fmt: skip
            done = phases.count("Succeeded")
            if done == args.requests:
                break
            print(f"  {time.monotonic() - started:6.1f}s  {done}/{args.requests} Succeeded",
                  file=sys.stderr)  # fmt: skip
            time.sleep(2)
        elapsed = time.monotonic() - started
        status = Path(f"/proc/{operator.pid}/status").read_text()
        peak_kib = int(re.search(r"VmHWM:\s+(\d+)", status)[1])  # type: ignore[index]
        after = request_counts(env)
        writes = {k: after.get(k, 0) - before.get(k, 0) for k in sorted(after)}
        print(f"requests: {args.requests} x {args.size} B files, "
              f"max concurrent {args.max_concurrent}")  # fmt: skip
        print(f"apply: {applied:.1f}s, all Succeeded after {elapsed:.1f}s "
              f"({args.requests / elapsed:.1f} requests/s)")  # fmt: skip
        print(f"operator peak RSS: {peak_kib / 1024:.1f} MiB")
        print("API requests on transferrequests during the run (by verb[/subresource]):")
        for key, value in writes.items():
            if value:
                print(f"  {key}: {value} ({value / args.requests:.1f} per request)")
    finally:
        if operator:
            operator.send_signal(signal.SIGTERM)
            operator.wait(60)
        cluster("down")


if __name__ == "__main__":
    main()
