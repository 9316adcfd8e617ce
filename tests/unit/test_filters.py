from __future__ import annotations

import pytest

from transfer_operator.engine.filters import matches, selected


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("a.gz", "*.gz", True),
        ("logs/2026/a.gz", "*.gz", True),  # no slash in the pattern: any depth
        ("a.gz.tmp", "*.gz", False),
        ("logs/a.gz", "logs/*.gz", True),
        ("logs/x/a.gz", "logs/*.gz", False),  # * stops at /
        ("logs/x/a.gz", "logs/**.gz", True),  # ** crosses directories
        ("logs/x/a.gz", "/logs/**", True),
        ("a1.txt", "a?.txt", True),
        ("a/1.txt", "a?.txt", False),
        ("[x].txt", "[x].txt", True),  # brackets are literal, not classes
    ],
)
def test_matches(path: str, pattern: str, expected: bool) -> None:
    assert matches(path, pattern) is expected


def test_selected_needs_an_include_and_no_exclude() -> None:
    assert selected("a.gz", (), ())
    assert selected("a.gz", ("*.gz",), ())
    assert not selected("a.txt", ("*.gz",), ())
    assert not selected("tmp/a.gz", ("*.gz",), ("tmp/**",))
