"""Choosing the adapter for a URL scheme."""

from __future__ import annotations

from transfer_operator.errors import InvalidRequest
from transfer_operator.storage.base import Store
from transfer_operator.storage.config import StoreConfig
from transfer_operator.storage.file import FileStore
from transfer_operator.storage.url import Location


def open_store(location: Location, config: StoreConfig) -> Store:
    """An adapter for `location`'s scheme; cloud schemes arrive with their adapters."""
    if location.scheme == "file":
        return FileStore()
    raise InvalidRequest(
        f"{location.scheme}:// is not supported by this build yet (supported: file://)",
        reason="UnsupportedScheme",
    )
