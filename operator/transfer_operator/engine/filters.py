"""include/exclude globs, with rclone's meaning so its users are not surprised.

`*` and `?` stop at `/`, `**` crosses directories, and a pattern without `/` matches the
file name at any depth (`*.gz` matches `a/b/c.gz`). Patterns are relative to the prefix.
An object is taken when it matches some include (or there are none) and no exclude.
"""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    anchored = "/" in pattern.rstrip("/")
    body = pattern.lstrip("/")
    regex = []
    i = 0
    while i < len(body):
        if body.startswith("**", i):
            regex.append(".*")
            i += 2
        elif body[i] == "*":
            regex.append("[^/]*")
            i += 1
        elif body[i] == "?":
            regex.append("[^/]")
            i += 1
        else:
            regex.append(re.escape(body[i]))
            i += 1
    prefix = "" if anchored else "(?:.*/)?"
    return re.compile(prefix + "".join(regex))


def matches(path: str, pattern: str) -> bool:
    return _compile(pattern).fullmatch(path) is not None


def selected(path: str, include: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    if include and not any(matches(path, p) for p in include):
        return False
    return not any(matches(path, p) for p in exclude)
