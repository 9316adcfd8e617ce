"""Counters the engine bumps and its caller samples (status patches, progress bar)."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(slots=True)
class Progress:
    """Mutated in place by the engine; readers take `snapshot()` whenever they like.

    Skipped objects count as done: `percent` answers "how much of the job is finished".
    """

    bytes_done: int = 0
    bytes_total: int = 0
    objects_done: int = 0
    objects_total: int = 0
    objects_copied: int = 0
    objects_skipped: int = 0
    objects_server_side: int = 0  # of objects_copied: copied inside the provider, not streamed

    @property
    def percent(self) -> int:
        if self.bytes_total:
            return min(100, self.bytes_done * 100 // self.bytes_total)
        if self.objects_total:
            return self.objects_done * 100 // self.objects_total
        return 0

    def snapshot(self) -> Progress:
        return replace(self)


def format_bytes(count: float) -> str:
    """Binary units, as `kubectl` and rclone print them: 1.5 MiB."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")
