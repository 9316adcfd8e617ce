"""What a transfer may do, independent of where the request came from (CRD or CLI)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from transfer_operator.storage.config import DEFAULT_PART_SIZE


class Overwrite(StrEnum):
    NEVER = "Never"
    IF_DIFFERENT = "IfDifferent"
    ALWAYS = "Always"


@dataclass(frozen=True, slots=True)
class TransferOptions:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    overwrite: Overwrite = Overwrite.IF_DIFFERENT
    verify: bool = True
    delete_source: bool = False
    bandwidth_limit: int | None = None  # bytes per second, across all streams of a transfer
    concurrency: int = 4  # objects in flight at once
    part_size: int = DEFAULT_PART_SIZE  # bytes held per stream: memory ~ part_size x concurrency
    # Names this writer's temporary uploads, so a writer restarted after a crash replaces what
    # it left instead of orphaning it. The operator passes the request's uid; None = random.
    writer_id: str | None = None
