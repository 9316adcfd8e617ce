"""Fixtures shared by every suite.

`object_stores` (session, started on first use): MinIO, fake-gcs-server, Azurite and an
HTTP server with Range support, started with `hack/objectstores` in a state directory of
its own (never a developer's `.objectstores/`) and stopped at the end, by PID. With
$TRANSFER_OPERATOR_OBJECTSTORES_DIR set it uses that directory: services already up
there are reused and left running. It yields `hack/objectstores_lib.ObjectStores`:
endpoints, credentials, and helpers that create buckets/containers with signed stdlib
requests.

The whole session is hermetic: the machine's AWS_*/AZURE_*/GOOGLE_* variables are removed
and cloud metadata services are fenced off (see `_hermetic_cloud_environment`).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import load_hack_module

objectstores_lib = load_hack_module("objectstores_lib")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # obstore 0.12.1 sometimes aborts (SIGABRT) at interpreter exit when its objects are
    # still alive then; collecting them before shutdown avoids it (docs/object-stores.md).
    gc.collect()


# Every cloud SDK's instance-metadata lookup goes to a closed loopback port, so no test
# (nor the operator process a test starts) ever probes a link-local address.
METADATA_GUARDS = {
    "GCE_METADATA_HOST": "127.0.0.1:9",
    "GCE_METADATA_IP": "127.0.0.1:9",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_METADATA_ENDPOINT": "http://127.0.0.1:9",
    "AZURE_MSI_ENDPOINT": "http://127.0.0.1:9/metadata/identity/oauth2/token",
}


@pytest.fixture(scope="session", autouse=True)
def _hermetic_cloud_environment() -> Iterator[None]:
    """No AWS_*/AZURE_*/GOOGLE_* variable of the machine's (it sets AWS_CA_BUNDLE) reaches
    a server, a client or the operator under test; metadata services are fenced off."""
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if objectstores_lib.is_scrubbed(name):
                mp.delenv(name)
        for name, value in METADATA_GUARDS.items():
            mp.setenv(name, value)
        yield


@pytest.fixture(scope="session")
def object_stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    given = os.environ.get("TRANSFER_OPERATOR_OBJECTSTORES_DIR")
    state = Path(given) if given else tmp_path_factory.mktemp("objectstores") / "state"
    started: list[str] = []
    try:
        started = objectstores_lib.up(state)
        yield objectstores_lib.connect(state)
    finally:
        # without names `down` also removes the state dir: only when the dir is ours
        objectstores_lib.down(state, None if not given else started)
