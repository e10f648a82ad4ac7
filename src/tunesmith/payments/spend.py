"""Client-side spend caps (per request, per UTC day) kept in a small SQLite file."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from .networks import format_usd, usd_to_atomic

Clock = Callable[[], float]
SPEND_FILE_NAME = "spend.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spends (
    nonce TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    amount INTEGER NOT NULL,
    payee TEXT NOT NULL,
    resource TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS spends_day ON spends (day);
"""


class SpendCapExceeded(Exception):
    """Signing this payment would exceed a spend cap; nothing was signed."""

    def __init__(
        self, cap: str, limit_atomic: int, requested_atomic: int, spent_atomic: int
    ) -> None:
        self.cap = cap
        self.limit_usd = Decimal(format_usd(limit_atomic))
        self.requested_usd = Decimal(format_usd(requested_atomic))
        self.spent_usd = Decimal(format_usd(spent_atomic))
        if cap == "per_request":
            text = f"price ${self.requested_usd} is above the per-request cap ${self.limit_usd}"
        else:
            text = (
                f"price ${self.requested_usd} would bring today's spend to "
                f"${self.spent_usd + self.requested_usd}, above the daily cap ${self.limit_usd}"
            )
        super().__init__(text)


def _utc_day(now: float) -> str:
    return datetime.fromtimestamp(now, tz=UTC).date().isoformat()


class SpendPolicy:
    """Refuses to sign above a per-request or per-UTC-day total; safe across processes."""

    def __init__(
        self,
        path: Path | str,
        max_usd_per_request: Decimal | float | str,
        max_usd_per_day: Decimal | float | str,
        clock: Clock = time.time,
    ) -> None:
        self.path = Path(path).expanduser()
        # A cap of 0 means "pay nothing", not "no cap": caps exist to protect the wallet.
        self.max_per_request = usd_to_atomic(max_usd_per_request)
        self.max_per_day = usd_to_atomic(max_usd_per_day)
        self._clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.executescript(_SCHEMA)

    @classmethod
    def beside_wallet(
        cls, wallet_file: Path | str, per_request: Any, per_day: Any, **kw: Any
    ) -> SpendPolicy:
        """The policy whose file sits next to the wallet key file."""
        return cls(
            Path(wallet_file).expanduser().parent / SPEND_FILE_NAME, per_request, per_day, **kw
        )

    @classmethod
    def from_settings(cls, settings: Any, **kw: Any) -> SpendPolicy:
        """The policy for `tunesmith.config.Settings` (wallet_file, max_usd_per_*)."""
        return cls.beside_wallet(
            settings.wallet_file, settings.max_usd_per_request, settings.max_usd_per_day, **kw
        )

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            yield conn
        finally:
            conn.close()

    def authorize(self, amount_atomic: int, *, nonce: str, payee: str, resource: str) -> None:
        """Record a payment about to be signed, or raise SpendCapExceeded and record nothing."""
        now = self._clock()
        day = _utc_day(now)
        if amount_atomic > self.max_per_request:
            raise SpendCapExceeded("per_request", self.max_per_request, amount_atomic, 0)
        with self._connect() as conn:
            # BEGIN IMMEDIATE takes the write lock before reading, so two processes cannot both
            # see room under the cap and both spend it.
            conn.execute("BEGIN IMMEDIATE")
            try:
                spent = self._spent(conn, day)
                if spent + amount_atomic > self.max_per_day:
                    raise SpendCapExceeded("per_day", self.max_per_day, amount_atomic, spent)
                conn.execute(
                    "INSERT INTO spends VALUES (?, ?, ?, ?, ?, ?)",
                    (nonce.lower(), day, amount_atomic, payee, resource, now),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def refund(self, nonce: str) -> bool:
        """Forget a payment the server did not charge (refused, failed job); True if found."""
        with self._connect() as conn:
            return (
                conn.execute("DELETE FROM spends WHERE nonce = ?", (nonce.lower(),)).rowcount == 1
            )

    @staticmethod
    def _spent(conn: sqlite3.Connection, day: str) -> int:
        row = conn.execute(
            "SELECT COALESCE(SUM(amount), 0) FROM spends WHERE day = ?", (day,)
        ).fetchone()
        return int(row[0])

    def spent_today_atomic(self) -> int:
        """Atomic units signed for so far this UTC day."""
        with self._connect() as conn:
            return self._spent(conn, _utc_day(self._clock()))

    def spent_today(self) -> Decimal:
        """USD signed for so far this UTC day."""
        return Decimal(format_usd(self.spent_today_atomic()))
