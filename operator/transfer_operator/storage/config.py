"""How to reach one side of a transfer: endpoint, region and credentials.

Credentials are a flat mapping whose keys are the environment variable names each
provider's own CLI reads (AWS_ACCESS_KEY_ID, AZURE_STORAGE_CONNECTION_STRING, ...), so a
Kubernetes Secret for the operator holds exactly what a shell would export for
`transfer-operator copy`. None means the provider's ambient chain (workload identity,
instance metadata, environment). They are kept out of `repr` so they cannot reach a log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_PART_SIZE = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class StoreConfig:
    endpoint: str | None = None
    region: str | None = None
    credentials: Mapping[str, str] | None = field(default=None, repr=False)


def account_of(scheme: str, config: StoreConfig) -> tuple[object, ...]:
    """What makes two stores the same account: same provider, endpoint and credentials.
    Only stores with equal accounts may copy between each other server-side."""
    credentials = tuple(sorted(config.credentials.items())) if config.credentials else None
    return (scheme, config.endpoint, config.region, credentials)
