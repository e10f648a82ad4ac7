"""Tracks on local disk, reached through HMAC-signed links that expire.

A link is ``<base>/v1/files/<key>?expires=<unix>&sig=<hex>``; the signature covers the key and
the expiry, so neither can be changed without the server's secret. Expired files are swept.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class InvalidLink(Exception):
    """A link whose signature does not match, whose key is unknown, or that has expired."""


class Store(Protocol):
    def put(self, source: Path, key: str) -> str: ...
    def url(self, key: str, base_url: str, expires_at: int) -> str: ...
    def open_path(self, key: str) -> Path: ...
    def delete(self, key: str) -> None: ...
    def sweep(self, keep: Callable[[str], bool], min_age_s: float = 3600.0) -> int: ...


class LocalStore:
    """Files under ``root``; links signed with ``secret`` and checked against ``clock``."""

    def __init__(self, root: Path, secret: bytes, clock: Callable[[], float] = time.time):
        self.root = root
        self.secret = secret
        self.clock = clock
        root.mkdir(parents=True, exist_ok=True)

    def put(self, source: Path, key: str) -> str:
        """Move ``source`` into the store under ``key`` (atomic on one filesystem)."""
        target = self._path(key)
        tmp = target.with_suffix(target.suffix + ".part")
        shutil.copyfile(source, tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
        source.unlink(missing_ok=True)
        return key

    def url(self, key: str, base_url: str, expires_at: int) -> str:
        """A signed link to ``key`` valid until ``expires_at`` (unix seconds)."""
        sig = self.signature(key, expires_at)
        return f"{base_url.rstrip('/')}/v1/files/{key}?expires={expires_at}&sig={sig}"

    def signature(self, key: str, expires_at: int) -> str:
        message = f"{key}\n{expires_at}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def check(self, key: str, expires: str | None, sig: str | None) -> Path:
        """The file behind a link, or InvalidLink saying why it is refused."""
        if not KEY_PATTERN.match(key) or not expires or not sig or not expires.isdigit():
            raise InvalidLink("malformed link: it needs the expires and sig it was given with")
        if not hmac.compare_digest(self.signature(key, int(expires)), sig):
            raise InvalidLink("link signature does not match: use the URL exactly as returned")
        if int(expires) < self.clock():
            raise InvalidLink("link has expired: generate the track again")
        path = self._path(key)
        if not path.is_file():
            raise InvalidLink("track is no longer stored")
        return path

    def open_path(self, key: str) -> Path:
        return self._path(key)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def sweep(self, keep: Callable[[str], bool], min_age_s: float = 3600.0) -> int:
        """Delete stored files ``keep`` rejects that are older than ``min_age_s``.

        The age guard spares a file a worker has stored but not yet recorded as finished.
        """
        removed = 0
        cutoff = self.clock() - min_age_s
        for path in self.root.iterdir():
            if path.is_file() and not keep(path.name) and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def _path(self, key: str) -> Path:
        if not KEY_PATTERN.match(key):
            raise InvalidLink(f"invalid storage key {key!r}")
        return self.root / key
