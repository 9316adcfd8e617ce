"""Storage adapters, one per URL scheme, behind the small `Store` protocol.

Nothing here knows about Kubernetes: adapters take plain URLs and credentials, so the
engine is usable from `transfer-operator copy` and as a library.
"""

from transfer_operator.storage.base import ObjectInfo, Store, Upload
from transfer_operator.storage.config import StoreConfig
from transfer_operator.storage.registry import open_store
from transfer_operator.storage.url import Location, parse_url

__all__ = ["Location", "ObjectInfo", "Store", "StoreConfig", "Upload", "open_store", "parse_url"]
