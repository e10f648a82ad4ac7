"""The server's own payment records: one row per (payer, nonce), reserved before any work."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from . import errors
from .errors import PaymentError
from .models import PaymentPayload, PaymentRequirements
from .networks import checksum

Clock = Callable[[], float]

RESERVED = "reserved"  # verified and held; the paid work may run
SETTLING = "settling"  # handed to the facilitator; outcome not recorded yet
SETTLED = "settled"  # charged: tx_hash is set
RELEASED = "released"  # the work failed or was cancelled: never charged
FAILED = "failed"  # the work succeeded but settlement was refused: not charged
STATUSES = (RESERVED, SETTLING, SETTLED, RELEASED, FAILED)


class RecordsBase(DeclarativeBase):
    """Declarative base of the payment records, on their own MetaData."""

    metadata = MetaData()


class PaymentRecord(RecordsBase):
    """One signed payment as this server has used it."""

    __tablename__ = "payment_records"
    __table_args__ = (UniqueConstraint("payer", "nonce", name="uq_payment_records_payer_nonce"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    payer: Mapped[str] = mapped_column(String(42))
    nonce: Mapped[str] = mapped_column(String(66))
    network: Mapped[str] = mapped_column(String(32))
    asset: Mapped[str] = mapped_column(String(42))
    pay_to: Mapped[str] = mapped_column(String(42))
    amount: Mapped[int] = mapped_column(BigInteger)
    resource: Mapped[str] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(String(128), nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    tx_hash: Mapped[str | None] = mapped_column(String(128), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    payload_json: Mapped[str] = mapped_column(Text)
    requirements_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


def create_tables(engine: Engine) -> None:
    """Create the payment_records table (in the job database or a separate one)."""
    RecordsBase.metadata.create_all(engine)


@dataclass(frozen=True)
class Reservation:
    """A snapshot of one payment record."""

    id: str
    payer: str
    nonce: str
    network: str
    asset: str
    pay_to: str
    amount: int
    resource: str
    model: str | None
    job_id: str | None
    status: str
    tx_hash: str | None
    reason: str | None
    attempts: int
    payload_json: str
    requirements_json: str
    created_at: datetime
    updated_at: datetime

    def payload(self) -> PaymentPayload:
        """The verified payment, as sent to the facilitator."""
        return PaymentPayload.model_validate_json(self.payload_json)

    def requirements(self) -> PaymentRequirements:
        """The server's requirement the payment was verified against."""
        return PaymentRequirements.model_validate_json(self.requirements_json)


class ReservationStateError(Exception):
    """A transition that the record's current status does not allow."""


class PaymentRecords:
    """Atomic reserve / settle / release of payments keyed by (payer, nonce)."""

    def __init__(self, engine: Engine, clock: Clock = time.time) -> None:
        self.engine = engine
        self._clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), tz=UTC)

    def reserve(
        self,
        payload: PaymentPayload,
        requirements: PaymentRequirements,
        *,
        resource: str,
        model: str | None = None,
        job_id: str | None = None,
    ) -> Reservation:
        """Hold (payer, nonce) for this request; PaymentError if it is held or used already."""
        auth = payload.payload.authorization
        payer, nonce, now = checksum(auth.from_), auth.nonce, self._now()
        fields: dict[str, Any] = {
            "network": requirements.network,
            "asset": requirements.asset,
            "pay_to": checksum(requirements.pay_to),
            "amount": int(requirements.amount),
            "resource": resource,
            "model": model,
            "job_id": job_id,
            "status": RESERVED,
            "tx_hash": None,
            "reason": None,
            "payload_json": payload.model_dump_json(by_alias=True, exclude_none=True),
            "requirements_json": requirements.model_dump_json(by_alias=True, exclude_none=True),
            "updated_at": now,
        }
        record_id = uuid.uuid4().hex
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(PaymentRecord).values(
                        id=record_id, payer=payer, nonce=nonce, attempts=1, created_at=now, **fields
                    )
                )
            return self.get(record_id)
        except IntegrityError:
            pass
        return self._reuse_released(payer, nonce, fields)

    def _reuse_released(self, payer: str, nonce: str, fields: dict[str, Any]) -> Reservation:
        # A released authorization was never submitted, so the same signature may pay for a
        # retry; the compare-and-set lets only one of several concurrent retries take it.
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(PaymentRecord)
                .where(
                    PaymentRecord.payer == payer,
                    PaymentRecord.nonce == nonce,
                    PaymentRecord.status == RELEASED,
                )
                .values(attempts=PaymentRecord.attempts + 1, **fields)
            )
        found = self.find(payer, nonce)
        if taken.rowcount != 1 or found is None:
            status = found.status if found else "unknown"
            raise PaymentError(
                errors.NONCE_ALREADY_USED, f"this payment is already in use ({status})"
            )
        return found

    def is_taken(self, payer: str, nonce: str) -> bool:
        """Whether (payer, nonce) is held or spent (a cheap pre-check; `reserve` decides)."""
        found = self.find(payer, nonce)
        return found is not None and found.status != RELEASED

    def _transition(self, record_id: str, allowed: tuple[str, ...], **values: Any) -> Reservation:
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(PaymentRecord)
                .where(PaymentRecord.id == record_id, PaymentRecord.status.in_(allowed))
                .values(updated_at=self._now(), **values)
            )
        current = self.get(record_id)
        if moved.rowcount != 1:
            raise ReservationStateError(
                f"payment {record_id} is {current.status}; expected one of {', '.join(allowed)}"
            )
        return current

    def attach_job(self, record_id: str, job_id: str) -> Reservation:
        """Record which job the payment pays for."""
        return self._transition(record_id, (RESERVED, SETTLING), job_id=job_id)

    def begin_settle(self, record_id: str) -> Reservation:
        """reserved -> settling, so a release cannot race a settlement."""
        return self._transition(record_id, (RESERVED,), status=SETTLING)

    def mark_settled(self, record_id: str, tx_hash: str) -> Reservation:
        """settling -> settled with the transaction hash."""
        return self._transition(record_id, (SETTLING,), status=SETTLED, tx_hash=tx_hash)

    def mark_failed(self, record_id: str, reason: str) -> Reservation:
        """reserved|settling -> failed: settlement was refused, nothing was charged."""
        return self._transition(record_id, (RESERVED, SETTLING), status=FAILED, reason=reason)

    def release(self, record_id: str, reason: str) -> Reservation:
        """reserved -> released: the work failed or was cancelled and is not charged."""
        return self._transition(record_id, (RESERVED,), status=RELEASED, reason=reason)

    def get(self, record_id: str) -> Reservation:
        """The record with this id; KeyError if none."""
        found = self._one(PaymentRecord.id == record_id)
        if found is None:
            raise KeyError(record_id)
        return found

    def find(self, payer: str, nonce: str) -> Reservation | None:
        """The record for (payer, nonce), if any."""
        return self._one(
            PaymentRecord.payer == checksum(payer), PaymentRecord.nonce == nonce.lower()
        )

    def by_job(self, job_id: str) -> list[Reservation]:
        """Records attached to a job (normally one)."""
        return self.list(job_id=job_id)

    def list(
        self,
        status: str | None = None,
        *,
        job_id: str | None = None,
        updated_before: datetime | None = None,
        limit: int = 1000,
    ) -> list[Reservation]:
        """Records for reconciliation, oldest update first."""
        table = PaymentRecord.__table__
        query = select(table).order_by(table.c.updated_at).limit(limit)
        if status is not None:
            query = query.where(table.c.status == status)
        if job_id is not None:
            query = query.where(table.c.job_id == job_id)
        if updated_before is not None:
            query = query.where(table.c.updated_at < updated_before)
        with self.engine.connect() as conn:
            return [_snapshot(row._mapping) for row in conn.execute(query)]

    def _one(self, *conditions: Any) -> Reservation | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(PaymentRecord.__table__).where(*conditions)).first()
        return _snapshot(row._mapping) if row is not None else None


def _snapshot(row: Any) -> Reservation:
    data = dict(row)
    for key in ("created_at", "updated_at"):
        # SQLite hands datetimes back naive; they were written in UTC.
        if data[key].tzinfo is None:
            data[key] = data[key].replace(tzinfo=UTC)
    return Reservation(**data)
