"""A worker process: claims queued jobs, runs their engine, stores the track, records the end.

Workers share nothing with the API but the job table and the track store, so they can run in
spawned processes here or on other machines pointed at the same database.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import shutil
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

from tunesmith.config import Settings
from tunesmith.engines.base import Engine, EngineError, GenerationCanceled, GenerationRequest
from tunesmith.engines.registry import load_engine, local_model_ids, model_entries
from tunesmith.jobs.models import IN_PROGRESS, Job
from tunesmith.jobs.settlement import Settlement
from tunesmith.jobs.store import JobStore
from tunesmith.storage import LocalStore

log = logging.getLogger("tunesmith.worker")

LEASE_SECONDS = 30.0
HEARTBEAT_SECONDS = 5.0
IDLE_POLL_SECONDS = 0.05


class DeadlineExceeded(Exception):
    """The job ran past its deadline."""


class WorkerShutdown(BaseException):
    """The worker process was asked to stop (SIGTERM) in the middle of a job."""


def _install_signal_handlers() -> None:
    # Ctrl+C reaches the whole process group: the server stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def on_term(_signum: int, _frame: object) -> None:
        raise WorkerShutdown()

    signal.signal(signal.SIGTERM, on_term)


@dataclass
class WorkerContext:
    """What a worker needs to run jobs; engines are built once per process, on first use."""

    name: str
    settings: Settings
    jobs: JobStore
    tracks: LocalStore
    engines: dict[str, Engine] = field(default_factory=dict)
    settlement: Settlement | None = None
    #: The models whose weights this worker holds; it runs only their jobs. Empty: every
    #: other model.
    holds: tuple[str, ...] = ()

    def engine(self, model: str) -> Engine:
        if model not in self.engines:
            entry = model_entries(self.settings)[model]
            self.engines[model] = load_engine(entry, self.settings)
        return self.engines[model]

    def claim(self) -> Job | None:
        """The next job this worker may run: its held models', or any but those held elsewhere."""
        if self.holds:
            return self.jobs.claim(self.name, LEASE_SECONDS, only=self.holds)
        return self.jobs.claim(self.name, LEASE_SECONDS, skip=local_model_ids(self.settings))

    def load_held(self) -> None:
        """Load the held models' weights now, once, before any job (not per job)."""
        for model in self.holds:
            engine = self.engine(model)
            load = getattr(engine, "load", None)
            if callable(load) and not load():
                log.error("worker %s cannot load %s: %s", self.name, model,
                          engine.unavailable_reason())

    def release(self) -> None:
        """Free what the engines hold (model weights, device memory) as the worker stops."""
        for engine in self.engines.values():
            close = getattr(engine, "close", None)
            if callable(close):
                close()
        self.engines.clear()
        release_memory()


class JobProgress:
    """The progress callback handed to engines: records progress, enforces cancel and deadline."""

    def __init__(self, ctx: WorkerContext, job: Job):
        self.ctx, self.job_id, self.deadline = ctx, job.id, job.deadline_at

    def __call__(self, fraction: float, stage: str) -> None:
        status = self.ctx.jobs.heartbeat(self.job_id, self.ctx.name, fraction, stage,
                                         LEASE_SECONDS)
        if status != IN_PROGRESS:
            raise GenerationCanceled(self.job_id)
        if time.time() > self.deadline:
            raise DeadlineExceeded(self.job_id)


def worker_main(settings_data: dict[str, Any], name: str, stop: EventType,
                events: Any = None, holds: tuple[str, ...] = ()) -> None:
    """Entry point of a spawned worker process; ``holds`` names the models it loads and serves."""
    limit_arenas()  # before any thread allocates
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    _install_signal_handlers()
    settings = Settings(**settings_data)
    jobs = JobStore(settings.resolved_database_url)
    ctx = WorkerContext(name=name, settings=settings, jobs=jobs,
                        tracks=LocalStore(settings.tracks_dir, settings.secret_bytes()),
                        settlement=Settlement.from_settings(settings, jobs), holds=tuple(holds))
    try:
        ctx.load_held()
        _work(ctx, stop, events)
    except WorkerShutdown:
        log.info("worker %s stopped by signal", name)
    finally:
        ctx.release()


def _work(ctx: WorkerContext, stop: EventType, events: Any) -> None:
    name = ctx.name
    while not stop.is_set():
        job = ctx.claim()
        if job is None:
            stop.wait(IDLE_POLL_SECONDS)
            continue
        if events is not None:
            events.put((name, job.id, "start"))
        run_job(ctx, job)
        if events is not None:
            events.put((name, job.id, "end"))


def run_job(ctx: WorkerContext, job: Job) -> None:
    """Run one claimed job to a recorded end: completed, failed, or left canceled."""
    workdir = ctx.settings.data_dir / "work" / job.id
    workdir.mkdir(parents=True, exist_ok=True)
    beat = _Heartbeat(ctx, job.id)
    beat.start()
    try:
        _generate_and_store(ctx, job, workdir)
    except GenerationCanceled:
        log.info("job %s canceled", job.id)
    except WorkerShutdown:
        # Stopped, not failed: the job goes back in line without spending one of its runs.
        ctx.jobs.requeue(job.id, ctx.name, refund_attempt=True)
        raise
    except DeadlineExceeded:
        ctx.jobs.fail(job.id, "timeout", _deadline_message(ctx, job), 504, ctx.name)
    except EngineError as exc:
        ctx.jobs.fail(job.id, exc.code, str(exc), exc.status_code, ctx.name,
                      retry_after=exc.retry_after)
    except Exception:  # an engine bug must end the job, never the worker
        log.error("job %s failed:\n%s", job.id, traceback.format_exc())
        ctx.jobs.fail(job.id, "generation_failed",
                      "the engine failed while generating this track; retry the request", 500,
                      ctx.name)
    finally:
        beat.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        _finish_payment(ctx, job.id)
        release_memory()


def release_memory() -> bool:
    """Give the memory the last job freed back to the system; False where that can't be done.

    A track's arrays are freed when it is done, but glibc keeps freed heap pages (and each
    render thread's arena) mapped, so an idle worker would sit at its largest job's size and
    the next job would start from there. ``malloc_trim`` returns them.
    """
    trim = _glibc("malloc_trim")
    if trim is None:
        return False
    trim(0)
    return True


WORKER_ARENAS = 2  # glibc malloc arenas a worker's threads share


def limit_arenas(arenas: int = WORKER_ARENAS) -> bool:
    """Let a worker's threads share ``arenas`` malloc arenas; False where that can't be done.

    glibc gives threads that allocate at once arenas of their own, up to eight per core, and
    memory freed in one arena is not reused by another: a worker rendering on a few threads
    per job crept from about 0.9 GB to 1.1 GB over a few dozen 180 s tracks. Two arenas for
    two cores keep it under 1 GB at the same speed (``bench/composer_bench.py``).
    Call it before the process starts threads.
    """
    mallopt = _glibc("mallopt")
    return bool(mallopt is not None and mallopt(_M_ARENA_MAX, arenas) == 1)


_M_ARENA_MAX = -8  # glibc's malloc.h


@functools.cache
def _glibc(function: str) -> Any:
    """A glibc function, looked up once per process (finding libc runs ldconfig); None
    where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), function) if name else None
    except (OSError, AttributeError):
        return None


def _finish_payment(ctx: WorkerContext, job_id: str) -> None:
    """Settle (completed) or release (failed, canceled) the job's payment at once.

    A no-op for a job still active (requeued on shutdown); if this process dies first, the
    supervisor's reconciliation does it instead.
    """
    if ctx.settlement is None:
        return
    try:
        ctx.settlement.finish(job_id)
    except Exception:  # payment trouble must not end the worker; reconciliation retries
        log.exception("finishing the payment of job %s failed", job_id)


def _generate_and_store(ctx: WorkerContext, job: Job, workdir: Path) -> None:
    progress = JobProgress(ctx, job)
    progress(0.0, "starting")
    request = GenerationRequest(model=job.model, seed=job.seed, **job.request)
    track = ctx.engine(job.model).generate(request, progress, workdir)
    progress(0.97, "storing")
    key = f"{job.id}.mp3"
    ctx.tracks.put(track.path, key)
    result = {
        "duration_seconds": track.duration_seconds,
        "lyrics": track.lyrics,
        "plan": track.plan,
        "size_bytes": ctx.tracks.open_path(key).stat().st_size,
    }
    if not ctx.jobs.complete(job.id, ctx.name, key, result, ctx.settings.url_ttl_seconds):
        ctx.tracks.delete(key)  # canceled while storing: nothing of it stays


def _deadline_message(ctx: WorkerContext, job: Job) -> str:
    limit = ctx.settings.job_deadline_seconds
    return f"generation of job {job.id} exceeded its {limit:.0f} s deadline; retry the request"


class _Heartbeat:
    """Keeps a job's lease alive while an engine stage runs long between progress reports."""

    def __init__(self, ctx: WorkerContext, job_id: str):
        self.ctx, self.job_id = ctx, job_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            job = self.ctx.jobs.get(self.job_id)
            if job is None or job.status != IN_PROGRESS:
                return
            self.ctx.jobs.heartbeat(self.job_id, self.ctx.name, job.progress, job.stage,
                                    LEASE_SECONDS)
