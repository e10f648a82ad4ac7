"""Every read and write of the job table, as small atomic operations.

State changes are conditional updates (``UPDATE ... WHERE status = ...``) so that the API, the
supervisor and any number of workers, in any number of processes or machines, can race without
a job being run twice, finished after a cancel, or lost.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import CursorResult, Result, create_engine, event, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tunesmith.jobs.models import (
    ACTIVE, CANCELED, COMPLETED, FAILED, IN_PROGRESS, QUEUED, Base, Job,
)

Clock = Callable[[], float]


class IdempotencyConflict(Exception):
    """An Idempotency-Key was reused with a different request body."""


def make_engine(url: str) -> Engine:
    """A SQLAlchemy engine; SQLite gets WAL mode and a busy timeout for many processes."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def new_job_id() -> str:
    return "gen_" + secrets.token_hex(12)


class JobStore:
    """The job table behind a small vocabulary of atomic operations."""

    def __init__(self, url: str, clock: Clock = time.time):
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.clock = clock
        Base.metadata.create_all(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as session, session.begin():
            yield session

    # -- creation and lookup -------------------------------------------------------------------
    def create(self, *, model: str, request: dict[str, Any], seed: int, deadline_s: float,
               client: str = "", idempotency_key: str | None = None, request_hash: str = "",
               payment: dict[str, Any] | None = None,
               job_id: str | None = None) -> tuple[Job, bool]:
        """Insert a queued job; with an idempotency key already used, return that job instead.

        ``job_id`` lets a caller name the job before it exists (a payment is reserved for it
        first). Returns ``(job, created)``.
        """
        if idempotency_key:
            existing = self.by_idempotency_key(idempotency_key)
            if existing is not None:
                return self._same_request(existing, request_hash), False
        now = self.clock()
        job = Job(id=job_id or new_job_id(), status=QUEUED, model=model, request=request,
                  seed=seed, client=client, idempotency_key=idempotency_key,
                  request_hash=request_hash, created_at=now, updated_at=now,
                  deadline_at=now + deadline_s, progress=0.0, stage="queued", attempts=0,
                  payment=payment)
        try:
            with self.session() as s:
                s.add(job)
        except IntegrityError:
            # Two retries with one key raced: the other insert won; answer with its job.
            existing = self.by_idempotency_key(idempotency_key or "")
            if existing is None:
                raise
            return self._same_request(existing, request_hash), False
        return job, True

    @staticmethod
    def _same_request(job: Job, request_hash: str) -> Job:
        if job.request_hash and request_hash and job.request_hash != request_hash:
            raise IdempotencyConflict(job.id)
        return job

    def get(self, job_id: str) -> Job | None:
        with self.session() as s:
            return s.get(Job, job_id)

    def by_idempotency_key(self, key: str) -> Job | None:
        with self.session() as s:
            return s.scalars(select(Job).where(Job.idempotency_key == key)).first()

    def count_active(self) -> int:
        with self.session() as s:
            return int(s.scalar(select(func.count()).where(Job.status.in_(ACTIVE))) or 0)

    def counts(self) -> dict[str, int]:
        with self.session() as s:
            rows = s.execute(select(Job.status, func.count()).group_by(Job.status)).all()
        return {status: int(n) for status, n in rows}

    def in_progress(self) -> list[Job]:
        with self.session() as s:
            return list(s.scalars(select(Job).where(Job.status == IN_PROGRESS)))

    # -- worker side ---------------------------------------------------------------------------
    def claim(self, worker: str, lease_s: float, only: Collection[str] | None = None,
              skip: Collection[str] = ()) -> Job | None:
        """Take the oldest queued job for ``worker``, or None when the queue is empty.

        ``only`` limits the worker to those models (a worker holding a model's weights),
        ``skip`` keeps it off those (models only their holders run).
        """
        query = select(Job.id).where(Job.status == QUEUED)
        if only is not None:
            query = query.where(Job.model.in_(list(only)))
        if skip:
            query = query.where(Job.model.not_in(list(skip)))
        with self.session() as s:
            candidates = s.scalars(query.order_by(Job.created_at).limit(5)).all()
            for job_id in candidates:
                now = self.clock()
                taken = _rowcount(s.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status == QUEUED)
                    .values(status=IN_PROGRESS, worker=worker, lease_expires_at=now + lease_s,
                            attempts=Job.attempts + 1, started_at=now, updated_at=now,
                            stage="starting", progress=0.0)
                ))
                if taken:
                    return s.get(Job, job_id)
        return None

    def heartbeat(self, job_id: str, worker: str, fraction: float, stage: str,
                  lease_s: float) -> str | None:
        """Record progress and extend the lease; returns the job's status (None if not ours)."""
        now = self.clock()
        with self.session() as s:
            s.execute(
                update(Job)
                .where(Job.id == job_id, Job.worker == worker, Job.status == IN_PROGRESS)
                .values(progress=max(0.0, min(1.0, fraction)), stage=stage, updated_at=now,
                        lease_expires_at=now + lease_s)
            )
            row = s.execute(select(Job.status, Job.worker).where(Job.id == job_id)).first()
        if row is None or row.worker != worker:
            return None
        return str(row.status)

    def complete(self, job_id: str, worker: str, storage_key: str, result: dict[str, Any],
                 ttl_s: float) -> bool:
        """Mark a running job completed; False when it was cancelled or taken meanwhile."""
        now = self.clock()
        with self.session() as s:
            done = _rowcount(s.execute(
                update(Job)
                .where(Job.id == job_id, Job.worker == worker, Job.status == IN_PROGRESS)
                .values(status=COMPLETED, progress=1.0, stage="completed", finished_at=now,
                        updated_at=now, storage_key=storage_key, result=result,
                        expires_at=now + ttl_s, lease_expires_at=None)
            ))
        return bool(done)

    def fail(self, job_id: str, code: str, message: str, status: int = 500,
             worker: str | None = None, retry_after: int | None = None) -> bool:
        """Mark an active job failed with a reason the user can read.

        ``retry_after`` (seconds the caller should wait before retrying, when the failure
        says) is kept in ``result``, which a failed job has no other use for.
        """
        now = self.clock()
        result = {"retry_after": int(retry_after)} if retry_after else None
        conditions = [Job.id == job_id, Job.status.in_(ACTIVE)]
        if worker is not None:
            conditions.append(Job.worker == worker)
        with self.session() as s:
            done = _rowcount(s.execute(
                update(Job).where(*conditions)
                .values(status=FAILED, stage="failed", error_code=code, error_message=message,
                        error_status=status, finished_at=now, updated_at=now,
                        lease_expires_at=None, result=result)
            ))
        return bool(done)

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job; a running worker notices at its next stage."""
        now = self.clock()
        with self.session() as s:
            done = _rowcount(s.execute(
                update(Job).where(Job.id == job_id, Job.status.in_(ACTIVE))
                .values(status=CANCELED, stage="canceled", finished_at=now, updated_at=now,
                        error_code="canceled", error_message="the job was canceled")
            ))
        return bool(done)

    def requeue(self, job_id: str, worker: str | None, refund_attempt: bool = False) -> bool:
        """Put a running job back in the queue (its worker died, or was stopped)."""
        now = self.clock()
        attempts = Job.attempts - 1 if refund_attempt else Job.attempts
        with self.session() as s:
            done = _rowcount(s.execute(
                update(Job).where(Job.id == job_id, Job.status == IN_PROGRESS,
                                  Job.worker == worker)
                .values(status=QUEUED, worker=None, lease_expires_at=None, stage="queued",
                        progress=0.0, updated_at=now, attempts=attempts)
            ))
        return bool(done)

    def withhold(self, job_id: str, code: str, message: str, status: int = 402) -> bool:
        """A completed job whose payment could not be settled ends failed; its link never left.

        The track file is no longer owned by a completed job, so the sweep deletes it.
        """
        now = self.clock()
        with self.session() as s:
            done = _rowcount(s.execute(
                update(Job).where(Job.id == job_id, Job.status == COMPLETED)
                .values(status=FAILED, stage="failed", error_code=code, error_message=message,
                        error_status=status, updated_at=now)
            ))
        return bool(done)

    def set_payment(self, job_id: str, payment: dict[str, Any]) -> None:
        with self.session() as s:
            s.execute(update(Job).where(Job.id == job_id).values(payment=payment))

    # -- housekeeping --------------------------------------------------------------------------
    def expired_tracks(self, now: float) -> list[Job]:
        """Completed jobs whose track has outlived its lifetime and is not swept yet."""
        with self.session() as s:
            return list(s.scalars(select(Job).where(
                Job.status == COMPLETED, Job.expires_at < now, Job.swept.is_(False))))

    def mark_swept(self, job_ids: list[str]) -> None:
        with self.session() as s:
            s.execute(update(Job).where(Job.id.in_(job_ids)).values(swept=True))

    def live_storage_keys(self) -> set[str]:
        with self.session() as s:
            rows = s.scalars(select(Job.storage_key).where(
                Job.status == COMPLETED, Job.swept.is_(False), Job.storage_key.is_not(None)))
            return {k for k in rows if k}

    def queue_position(self, job: Job) -> int:
        with self.session() as s:
            return int(s.scalar(select(func.count()).where(
                Job.status == QUEUED, Job.created_at < job.created_at)) or 0)

    def overdue_queued(self, now: float) -> list[Job]:
        with self.session() as s:
            return list(s.scalars(select(Job).where(Job.status == QUEUED, Job.deadline_at < now)))


def _rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE changed (an UPDATE's result is a CursorResult; execute() is typed wider)."""
    return cast("CursorResult[Any]", result).rowcount
