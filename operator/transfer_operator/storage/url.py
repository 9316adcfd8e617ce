"""Transfer URLs: `scheme://bucket/key`, `file:///path`; a trailing `/` means a prefix."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from transfer_operator.errors import InvalidRequest

SCHEMES = ("s3", "gs", "az", "https", "file")


@dataclass(frozen=True, slots=True)
class Location:
    """Where a transfer reads or writes.

    `container` is the bucket (s3, gs), container (az), host (https) or "" (file);
    `key` is the object key or, for files, the absolute path without its leading `/`.
    """

    url: str
    scheme: str
    container: str
    key: str

    @property
    def is_prefix(self) -> bool:
        return self.key == "" or self.key.endswith("/")

    def child(self, relative: str) -> Location:
        """The location of `relative` under this prefix."""
        return Location(
            url=self.url + relative,
            scheme=self.scheme,
            container=self.container,
            key=self.key + relative,
        )


def parse_url(url: str) -> Location:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise InvalidRequest(
            f"unsupported URL scheme {parts.scheme!r} in {url!r}; use one of "
            + ", ".join(f"{s}://" for s in SCHEMES)
        )
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise InvalidRequest(f"file URLs must be absolute (file:///path), got {url!r}")
        path = unquote(parts.path)
        if not path.startswith("/") or path == "/":
            raise InvalidRequest(f"file URLs need an absolute path below /, got {url!r}")
        if any(segment == ".." for segment in path.split("/")):
            raise InvalidRequest(f"file URLs must not contain '..', got {url!r}")
        return Location(url=url, scheme=scheme, container="", key=path.lstrip("/"))
    if not parts.netloc:
        raise InvalidRequest(f"{url!r} names no bucket or host")
    return Location(
        url=url, scheme=scheme, container=parts.netloc, key=unquote(parts.path).lstrip("/")
    )
