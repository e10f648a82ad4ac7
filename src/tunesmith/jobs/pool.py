"""The worker pool and its supervisor, run by the API process.

The supervisor keeps ``settings.workers`` processes alive, and is what makes "nothing is lost"
true: jobs of a dead worker (crash, kill, server restart) are retried up to ``max_attempts``
runs or failed with a reason; jobs past their deadline are failed with 504 and their worker
replaced; a worker still busy with a canceled job is replaced; expired tracks are swept.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any

from tunesmith.config import Settings
from tunesmith.engines.registry import model_entries
from tunesmith.jobs.models import TERMINAL, Job
from tunesmith.jobs.settlement import Settlement
from tunesmith.jobs.store import Clock, JobStore
from tunesmith.jobs.worker import worker_main
from tunesmith.storage import LocalStore

log = logging.getLogger("tunesmith.pool")

SUPERVISE_SECONDS = 0.25
GRACE_SECONDS = 5.0  # how long a worker may take to notice a cancel or a deadline
SWEEP_SECONDS = 60.0
RECONCILE_SECONDS = 1.0  # how often reserved payments of ended jobs are settled or released


@dataclass
class WorkerSlot:
    name: str
    process: BaseProcess
    job_id: str | None = None
    #: The models whose weights this worker holds (it serves only those); empty: the rest.
    holds: tuple[str, ...] = ()


class WorkerPool:
    """Spawned worker processes plus the thread that watches them and their jobs."""

    def __init__(self, settings: Settings, jobs: JobStore, tracks: LocalStore,
                 clock: Clock = time.time):
        self.settings, self.jobs, self.tracks, self.clock = settings, jobs, tracks, clock
        self.prefix = f"{socket.gethostname()}:{os.getpid()}:"
        self.boot = secrets.token_hex(3)
        self._ctx = mp.get_context("spawn")
        self._stop = self._ctx.Event()
        self._events: Any = self._ctx.Queue()
        self._slots: list[WorkerSlot] = []
        self._spawned = 0
        self._thread = threading.Thread(target=self._supervise, name="supervisor", daemon=True)
        self._last_sweep = 0.0
        self._last_reconcile = 0.0
        self._running = False
        self.settlement = Settlement.from_settings(settings, jobs, clock)

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self._recover_previous_run()
        self.reconcile_payments()
        self._slots = [self._spawn() for _ in range(self.settings.workers)]
        self._slots += [self._spawn((model_id,)) for model_id in self._held_models()
                        for _ in range(self.settings.local_models[model_id].workers)]
        self._running = True
        self._thread.start()

    def _held_models(self) -> list[str]:
        """Local models that get workers of their own: those whose folder and device are here
        (the API answers 503 for the others, naming what is missing)."""
        entries = model_entries(self.settings)
        return [m for m in self.settings.local_models if entries[m].available]

    def stop(self, timeout: float = 10.0) -> None:
        self._running = False
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        deadline = time.monotonic() + timeout
        for slot in self._slots:
            slot.process.join(timeout=max(0.1, deadline - time.monotonic()))
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join(timeout=2)

    def alive(self) -> int:
        return sum(1 for slot in self._slots if slot.process.is_alive())

    def _spawn(self, holds: tuple[str, ...] = ()) -> WorkerSlot:
        """A worker process; one that ``holds`` models loads them at start and serves only them."""
        self._spawned += 1
        name = f"{self.prefix}{self.boot}:w{self._spawned}"
        process = self._ctx.Process(
            target=worker_main, name=name, daemon=True,
            args=(self.settings.model_dump(mode="json"), name, self._stop, self._events, holds),
        )
        process.start()
        return WorkerSlot(name=name, process=process, holds=holds)

    # -- supervision ---------------------------------------------------------------------------
    def _supervise(self) -> None:
        while self._running:
            try:
                self.supervise_once()
            except Exception:  # the supervisor must outlive a database hiccup
                log.exception("supervisor pass failed")
            time.sleep(SUPERVISE_SECONDS)

    def supervise_once(self) -> None:
        """One pass: read worker events, replace dead workers, recover and time out jobs."""
        self._drain_events()
        self._replace_dead_workers()
        now = self.clock()
        for job in self.jobs.in_progress():
            self._check_running(job, now)
        self._check_busy_slots(now)
        self._fail_overdue_queued(now)
        if now - self._last_reconcile > RECONCILE_SECONDS:
            self._last_reconcile = now
            self.reconcile_payments()
        if now - self._last_sweep > SWEEP_SECONDS:
            self._last_sweep = now
            self.sweep(now)

    def _drain_events(self) -> None:
        while True:
            try:
                name, job_id, what = self._events.get_nowait()
            except (queue.Empty, OSError, EOFError):
                return
            for slot in self._slots:
                if slot.name == name:
                    slot.job_id = job_id if what == "start" else None

    def _replace_dead_workers(self) -> None:
        for index, slot in enumerate(self._slots):
            if not slot.process.is_alive() and self._running and not self._stop.is_set():
                log.warning("worker %s died (exit %s); starting another", slot.name,
                            slot.process.exitcode)
                if slot.job_id:
                    self._recover(slot.job_id, slot.name, "its worker process died")
                self._slots[index] = self._spawn(slot.holds)

    def _check_running(self, job: Job, now: float) -> None:
        mine = job.worker is not None and job.worker.startswith(self.prefix)
        live = {slot.name for slot in self._slots if slot.process.is_alive()}
        if mine and job.worker not in live:
            self._recover(job.id, job.worker, "its worker process died")
        elif not mine and (job.lease_expires_at or 0) < now:
            self._recover(job.id, job.worker, "its worker stopped renewing its lease")
        elif now > job.deadline_at + GRACE_SECONDS:
            self._timeout(job)

    def _check_busy_slots(self, now: float) -> None:
        """Replace a worker that is still busy with a job that ended without it."""
        for index, slot in enumerate(self._slots):
            if slot.job_id is None:
                continue
            job = self.jobs.get(slot.job_id)
            if job and job.status in TERMINAL and job.worker == slot.name:
                finished = job.finished_at or now
                if now - finished > GRACE_SECONDS and slot.process.is_alive():
                    log.warning("worker %s ignored the end of %s; replacing it", slot.name, job.id)
                    slot.process.kill()
                    slot.process.join(timeout=2)
                    self._slots[index] = self._spawn(slot.holds)

    def _timeout(self, job: Job) -> None:
        limit = self.settings.job_deadline_seconds
        self.jobs.fail(job.id, "timeout",
                       f"generation of job {job.id} exceeded its {limit:.0f} s deadline; "
                       "retry the request", 504)

    def _fail_overdue_queued(self, now: float) -> None:
        for job in self.jobs.overdue_queued(now):
            self._timeout(job)

    def _recover(self, job_id: str, worker: str | None, why: str) -> None:
        job = self.jobs.get(job_id)
        if job is None or job.status in TERMINAL or job.worker != worker:
            return
        if job.attempts < self.settings.max_attempts:
            log.warning("job %s: %s; queued again (run %d)", job_id, why, job.attempts + 1)
            self.jobs.requeue(job_id, worker)
        else:
            self.jobs.fail(job_id, "worker_lost",
                           f"the job was interrupted ({why}) and has used its "
                           f"{job.attempts} runs; retry the request", 500)

    def _recover_previous_run(self) -> None:
        """At start-up, jobs left running by an earlier server on this host go back in line."""
        host = socket.gethostname() + ":"
        for job in self.jobs.in_progress():
            if job.worker and job.worker.startswith(host):
                self._recover(job.id, job.worker, "the server restarted")

    def reconcile_payments(self) -> int:
        """Settle or release payments whose job ended (timeout, lost worker, crash, restart)."""
        if self.settlement is None:
            return 0
        return self.settlement.reconcile()

    def sweep(self, now: float) -> int:
        """Delete tracks past their lifetime and files no job owns."""
        expired = self.jobs.expired_tracks(now)
        for job in expired:
            if job.storage_key:
                self.tracks.delete(job.storage_key)
        if expired:
            self.jobs.mark_swept([job.id for job in expired])
        live = self.jobs.live_storage_keys()
        return len(expired) + self.tracks.sweep(lambda key: key in live)
