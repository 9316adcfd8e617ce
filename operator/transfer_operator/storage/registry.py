"""Choosing the adapter for a URL scheme."""

from __future__ import annotations

from transfer_operator.storage.base import Store
from transfer_operator.storage.config import DEFAULT_PART_SIZE, StoreConfig
from transfer_operator.storage.file import FileStore
from transfer_operator.storage.url import Location


def open_store(
    location: Location, config: StoreConfig, part_size: int = DEFAULT_PART_SIZE
) -> Store:
    """An adapter for `location`'s scheme. Cloud adapters import their SDKs lazily, so the
    operator's memory only pays for the clouds its requests actually use."""
    if location.scheme == "file":
        return FileStore()
    if location.scheme == "gs":
        from transfer_operator.storage.gcs import GCSStore

        return GCSStore(location, config, part_size)
    from transfer_operator.storage import objectstore

    factory = {
        "s3": objectstore.s3_store,
        "az": objectstore.azure_store,
        "https": objectstore.http_store,
    }[location.scheme]
    return factory(location, config, part_size)
