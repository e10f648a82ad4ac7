"""Settling or releasing the payment held for a job: exactly once, from whichever process sees
the job end first.

Who calls it:
- the worker, right after it records a job's end (the fast path: the track is stored and the
  job is ``completed`` before any money moves);
- the API, when it observes an ended job before the worker got there (a second caller is
  harmless: ``reserved -> settling`` is a compare-and-set, so only one caller reaches the
  facilitator);
- the pool supervisor, which sweeps ``reserved`` records of ended (or never created) jobs, so
  a crash or restart between "job ended" and "payment settled" is repaired.

The payment record's status is the source of truth; ``Job.payment`` only names the record.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tunesmith.config import Settings
from tunesmith.jobs.models import CANCELED, COMPLETED, FAILED, Job
from tunesmith.jobs.store import Clock, JobStore
from tunesmith.payments import (
    FacilitatorUnavailable,
    PaymentError,
    PaymentGate,
    PaymentRecords,
    Reservation,
    ReservationStateError,
    create_tables,
    facilitator_from_settings,
)
from tunesmith.payments.reservations import RESERVED

log = logging.getLogger("tunesmith.settlement")

# A record reserved for a job id that never reached the job table (the API died between the
# two writes) is released after this long; a real job appears within milliseconds.
ORPHAN_SECONDS = 120.0


@dataclass
class Settlement:
    """Settle a completed job's payment, release a failed or canceled one; idempotent."""

    gate: PaymentGate
    jobs: JobStore
    clock: Clock = time.time

    @classmethod
    def from_settings(cls, settings: Settings, jobs: JobStore,
                      clock: Clock = time.time) -> Settlement | None:
        """None when payments are off; records live in the job database next to the jobs."""
        if not settings.payments_enabled:
            return None
        create_tables(jobs.engine)
        records = PaymentRecords(jobs.engine, clock=clock)
        gate = PaymentGate.from_settings(settings, facilitator_from_settings(settings), records,
                                         clock=clock)
        return cls(gate=gate, jobs=jobs, clock=clock)

    @property
    def records(self) -> PaymentRecords:
        return self.gate.records

    def record_of(self, job: Job) -> Reservation | None:
        """The payment record a job names, if it has one."""
        info = job.payment or {}
        record_id = info.get("reservation")
        if not record_id:
            return None
        try:
            return self.records.get(str(record_id))
        except KeyError:
            return None

    def finish(self, job_id: str) -> Reservation | None:
        """Bring a job's payment in line with the job's end; a no-op while the job runs."""
        job = self.jobs.get(job_id)
        if job is None:
            return None
        record = self.record_of(job)
        if record is None or record.status != RESERVED or record.job_id != job.id:
            return record
        if job.status == COMPLETED:
            self._settle(job, record)
        elif job.status in (FAILED, CANCELED):
            self._release(record, f"job {job.status}: {job.error_code or job.status}")
        return self.records.get(record.id)

    def _settle(self, job: Job, record: Reservation) -> None:
        try:
            self.gate.settle(record)
        except ReservationStateError:
            pass  # another process is settling it, or has
        except FacilitatorUnavailable:
            # The transfer may or may not have happened: the record stays `settling` for
            # reconciliation (`tunesmith ledger payments`), and the track stays withheld.
            log.exception("settlement of job %s could not reach the facilitator", job.id)
        except PaymentError as exc:
            # Refused (funds spent meanwhile, nonce used elsewhere): nothing was charged, so
            # the track is not handed out; the job ends failed with the reason.
            log.warning("settlement of job %s refused: %s", job.id, exc)
            self.jobs.withhold(job.id, exc.code, "the payment could not be settled "
                               f"({exc.code}: {exc.message}); nothing was charged", 402)

    def _release(self, record: Reservation, reason: str) -> None:
        with contextlib.suppress(ReservationStateError):  # another caller got there first
            self.gate.release(record, reason)

    def reconcile(self) -> int:
        """Finish every reserved payment whose job has ended or never existed; returns count."""
        handled = 0
        orphan_before = datetime.fromtimestamp(self.clock(), tz=UTC) - timedelta(
            seconds=ORPHAN_SECONDS)
        for record in self.records.list(RESERVED):
            job = self.jobs.get(record.job_id) if record.job_id else None
            if job is None:
                if record.created_at < orphan_before:
                    self._release(record, "no job was created for this payment")
                    handled += 1
                continue
            if job.status in (COMPLETED, FAILED, CANCELED):
                self.finish(job.id)
                handled += 1
        return handled


def payment_info(record: Reservation) -> dict[str, Any]:
    """What a job keeps about its payment: the record id plus who paid, for ownership checks."""
    return {"reservation": record.id, "payer": record.payer, "nonce": record.nonce,
            "amount": record.amount, "network": record.network}
