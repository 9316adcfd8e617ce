"""Integration fixtures: real local object stores (MinIO, fake-gcs-server, Azurite, an HTTP
server with Range support), started with `hack/objectstores` and stopped at the end.

`object_stores` (session) starts all four in a state directory of its own, so it never
touches a developer's `.objectstores/`, and stops exactly what it started (by PID, through
`hack/objectstores down`). With $TRANSFER_OPERATOR_OBJECTSTORES_DIR set it uses that
directory instead: services already up there are reused and left running.

The fixture yields `hack/objectstores_lib.ObjectStores`: endpoints, credentials, the
`env` that `hack/objectstores env` exports, and helpers that create buckets/containers
with signed stdlib requests (no cloud SDK needed). AWS_*/AZURE_*/GOOGLE_* variables
inherited from the machine (it sets AWS_CA_BUNDLE) are removed from os.environ for the
session, so neither the servers nor the clients depend on them.
"""

from __future__ import annotations

import gc
import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load_lib() -> Any:
    spec = importlib.util.spec_from_file_location(
        "objectstores_lib", REPO / "hack" / "objectstores_lib.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


objectstores_lib = _load_lib()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # obstore 0.12.1 sometimes aborts (SIGABRT) at interpreter exit when its objects are
    # still alive then; collecting them before shutdown avoids it (docs/object-stores.md).
    gc.collect()


@pytest.fixture(scope="session")
def object_stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    given = os.environ.get("TRANSFER_OPERATOR_OBJECTSTORES_DIR")
    state = Path(given) if given else tmp_path_factory.mktemp("objectstores") / "state"
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if objectstores_lib.is_scrubbed(name):
                mp.delenv(name)
        started: list[str] = []
        try:
            started = objectstores_lib.up(state)
            yield objectstores_lib.connect(state)
        finally:
            # without names `down` also removes the state dir: only when the dir is ours
            objectstores_lib.down(state, None if not given else started)
