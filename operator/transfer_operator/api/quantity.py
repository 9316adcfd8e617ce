"""Kubernetes resource quantities (`50Mi`, `1G`, `1.5Gi`, `1e6`) as whole bytes."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_SUFFIXES = {
    "": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}  # fmt: skip
_QUANTITY = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*([KMGTPE]i|[kMGTPE])?\s*$")


def parse_quantity(value: int | str) -> int:
    """Bytes for a quantity; ValueError with a readable message otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a quantity")
    if isinstance(value, int):
        return value
    match = _QUANTITY.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a quantity like 50Mi, 1G or 1048576")
    number, suffix = match.groups()
    try:
        return int(Decimal(number) * _SUFFIXES[suffix or ""])
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a quantity like 50Mi, 1G or 1048576") from None
