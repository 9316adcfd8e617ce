"""Thin, standard-library wrapper around ``hack/cluster`` for pytest fixtures.

Usage from a conftest (``hack/`` is not a package; load it by path)::

    import importlib.util, pathlib
    _p = pathlib.Path(__file__).resolve().parents[2] / "hack" / "local_cluster.py"
    _spec = importlib.util.spec_from_file_location("local_cluster", _p)
    local_cluster = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(local_cluster)

    env = local_cluster.up()          # starts (or reuses) the cluster, returns the env vars
    os.environ.update(env)            # KUBECONFIG and PATH (with a matching kubectl first)
    ...
    local_cluster.down()

Every call shells out to ``hack/cluster``; nothing here keeps state.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

CLUSTER = Path(__file__).resolve().parent / "cluster"


def _run(
    *args: str, check: bool = True, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([sys.executable, str(CLUSTER), *args], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise RuntimeError(f"hack/cluster {' '.join(args)} failed (exit {res.returncode}):\n"
                           f"{res.stderr.strip()}\n{res.stdout.strip()}")
    return res


def parse_env(text: str) -> dict[str, str]:
    """Parse ``export NAME=value`` lines (values shell-quoted) into a dict."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("export "):
            continue
        name, _, value = line[len("export "):].partition("=")
        parts = shlex.split(value)
        out[name] = parts[0] if parts else ""
    return out


def env() -> dict[str, str]:
    """KUBECONFIG and PATH for the running cluster (raises if it is down)."""
    return parse_env(_run("env").stdout)


def up(timeout: float | None = 3600) -> dict[str, str]:
    """Start the cluster (no-op if up; the first run builds binaries) and return env()."""
    _run("up", timeout=timeout)
    return env()


def down() -> None:
    _run("down")


def status() -> dict:
    """``hack/cluster status --json`` as a dict; ``{"up": False}`` when down."""
    res = _run("status", "--json", check=False)
    return json.loads(res.stdout) if res.stdout.strip() else {"up": False}
