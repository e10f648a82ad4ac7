"""What the routes do, without HTTP: submit a generation, wait for it, describe it."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from typing import Any

from tunesmith.api.errors import ERROR_TYPES, ApiError
from tunesmith.api.schemas import GenerationBody, JobError, JobResponse, TrackData
from tunesmith.config import Settings
from tunesmith.engines.registry import ModelEntry, default_model, model_entries
from tunesmith.jobs.models import COMPLETED, QUEUED, TERMINAL, Job
from tunesmith.jobs.store import Clock, IdempotencyConflict, JobStore
from tunesmith.storage import LocalStore

WAIT_POLL_SECONDS = 0.1


class GenerationService:
    """Jobs as the API sees them."""

    def __init__(self, settings: Settings, jobs: JobStore, tracks: LocalStore, clock: Clock):
        self.settings, self.jobs, self.tracks, self.clock = settings, jobs, tracks, clock
        self.models: dict[str, ModelEntry] = model_entries(settings)

    # -- submitting ----------------------------------------------------------------------------
    def resolve_model(self, body: GenerationBody) -> ModelEntry:
        """The model a request will run on, or a 400/503 saying what to change."""
        model_id = body.model or default_model(self.settings)
        entry = self.models.get(model_id)
        if entry is None:
            known = ", ".join(sorted(self.models))
            raise ApiError(400, f"unknown model '{model_id}'; available: {known}",
                           "model_not_found", "model")
        fallback = self._fallback()
        if not entry.available and fallback is not None:
            entry = fallback
        if not entry.available:
            raise ApiError(503, f"model '{model_id}' is not available here: "
                           f"{entry.unavailable_reason}", "model_unavailable", "model")
        if body.lyrics is not None and not entry.capabilities.lyrics:
            raise ApiError(400, f"model '{model_id}' cannot sing lyrics yet; send "
                           "instrumental: true or pick a model that supports_lyrics",
                           "lyrics_not_supported", "lyrics")
        _check_capabilities(body, entry, model_id)
        return entry

    def _fallback(self) -> ModelEntry | None:
        """The model that stands in for an unconfigured one (the contract's examples name
        minimax/music-2.5+), when the operator keeps one and it can run."""
        entry = self.models.get(self.settings.fallback_model)
        return entry if entry is not None and entry.available else None

    def check_queue(self) -> None:
        """429 with Retry-After when the queue is full."""
        active = self.jobs.count_active()
        if active >= self.settings.queue_limit:
            retry = max(1, int(active / max(1, self.settings.workers) * 2))
            raise ApiError(429, f"the generation queue is full ({active} jobs); retry in "
                           f"{retry} s", "queue_full", headers={"Retry-After": str(retry)})

    def existing(self, body: GenerationBody, entry: ModelEntry,
                 idempotency_key: str | None) -> Job | None:
        """The job an Idempotency-Key already made for this same request (409 if another)."""
        if not idempotency_key:
            return None
        found = self.jobs.by_idempotency_key(idempotency_key)
        if found is None:
            return None
        return self._same(found, request_hash(entry.model_id, body.engine_request(), body.seed))

    def submit(self, body: GenerationBody, entry: ModelEntry, client: str,
               idempotency_key: str | None, payment: dict[str, Any] | None = None,
               job_id: str | None = None) -> tuple[Job, bool]:
        """Queue a job (or find the one an idempotency key already made)."""
        seed = body.seed if body.seed is not None else secrets.randbelow(2**31)
        request = body.engine_request()
        fingerprint = request_hash(entry.model_id, request, body.seed)
        found = self.existing(body, entry, idempotency_key)
        if found is not None:
            return found, False
        self.check_queue()
        try:
            return self.jobs.create(model=entry.model_id, request=request, seed=seed,
                                    deadline_s=self.settings.job_deadline_seconds,
                                    client=client, idempotency_key=idempotency_key,
                                    request_hash=fingerprint, payment=payment, job_id=job_id)
        except IdempotencyConflict as exc:
            raise _conflict(str(exc)) from exc

    @staticmethod
    def _same(job: Job, fingerprint: str) -> Job:
        if job.request_hash and job.request_hash != fingerprint:
            raise _conflict(job.id)
        return job

    async def wait(self, job_id: str, timeout: float) -> Job:
        """The job once it ends, or as it stands when ``timeout`` runs out."""
        loop = asyncio.get_running_loop()
        until = loop.time() + timeout
        while True:
            job = await asyncio.to_thread(self.get, job_id)
            if job.status in TERMINAL or loop.time() >= until:
                return job
            await asyncio.sleep(min(WAIT_POLL_SECONDS, max(0.0, until - loop.time())))

    def get(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"no generation job '{job_id}'", "job_not_found", "id")
        return job

    def cancel(self, job_id: str) -> Job:
        """Cancel an active job; 409 when it has already ended."""
        job = self.get(job_id)
        if not self.jobs.cancel(job_id):
            raise ApiError(409, f"job '{job_id}' has already ended ({job.status}); nothing to "
                           "cancel", "job_finished", "id")
        return self.get(job_id)

    # -- describing ----------------------------------------------------------------------------
    def track_data(self, job: Job, base_url: str) -> list[TrackData]:
        """The ``data`` list of a completed job; 410 once its track has expired."""
        if job.storage_key is None or job.result is None or job.expires_at is None:
            return []
        if job.swept or job.expires_at < self.clock():
            raise ApiError(410, f"the track of job '{job.id}' expired; generate it again",
                           "track_expired", "id")
        result, plan = job.result, job.result.get("plan") or {}
        expires = int(job.expires_at)
        duration = float(result["duration_seconds"])
        return [TrackData(
            url=self.tracks.url(job.storage_key, base_url, expires),
            duration_seconds=round(duration), lyrics=result.get("lyrics"), id=job.id,
            duration_ms=round(duration * 1000), seed=job.seed, expires_at=expires,
            style=plan.get("style"), bpm=plan.get("bpm"), key=plan.get("key"),
            time_signature=plan.get("time_signature"), instruments=plan.get("instruments"),
            sections=plan.get("sections"), vocal=plan.get("vocal"),
        )]

    def job_view(self, job: Job, base_url: str, prefix: str) -> JobResponse:
        """The job object returned by 202 answers and polls."""
        poll = f"{base_url}{prefix}/v1/audio/generations/{job.id}"
        error = None
        if job.error_code and job.status != COMPLETED:
            status = job.error_status or 500
            error = JobError(message=job.error_message or "", code=job.error_code,
                             type=ERROR_TYPES.get(status, "server_error"))
        return JobResponse(
            id=job.id, status=job.status, model=job.model, created=int(job.created_at),
            poll_url=poll, events_url=f"{poll}/events", progress=round(job.progress, 3),
            stage=job.stage, error=error,
            queue_position=self.jobs.queue_position(job) if job.status == QUEUED else None,
            data=self.track_data(job, base_url) if job.status == COMPLETED else None,
        )

    def failure(self, job: Job) -> ApiError:
        """The error a synchronous caller gets for a job that failed or was canceled."""
        if job.status == "canceled":
            return ApiError(409, f"job '{job.id}' was canceled", "canceled", "id",
                            extra={"job_id": job.id})
        status = job.error_status or 500
        retry_after = (job.result or {}).get("retry_after")
        headers = {"Retry-After": "1"} if status in (500, 502, 504) else {}
        if retry_after:
            headers = {"Retry-After": str(int(retry_after))}
        return ApiError(status, job.error_message or "generation failed; retry the request",
                        job.error_code or "generation_failed", headers=headers,
                        extra={"job_id": job.id})


def _check_capabilities(body: GenerationBody, entry: ModelEntry, model_id: str) -> None:
    """400 for an instrumental or a length the model cannot make (neural models)."""
    caps = entry.capabilities
    if body.instrumental and not caps.instrumental:
        raise ApiError(400, f"model '{model_id}' always sings and cannot make an instrumental; "
                       "drop instrumental (lyrics are written for you if you send none) or "
                       "pick a model that supports_instrumental", "instrumental_not_supported",
                       "instrumental")
    if not caps.min_duration_seconds <= body.duration_seconds <= caps.max_duration_seconds:
        raise ApiError(400, f"model '{model_id}' makes tracks of {caps.min_duration_seconds}-"
                       f"{caps.max_duration_seconds} s; ask for a duration_seconds in that "
                       "range", "invalid_duration", "duration_seconds")


def request_hash(model: str, request: dict[str, Any], seed: int | None) -> str:
    """A fingerprint of what was asked, to tell a true retry from a reused key."""
    canonical = json.dumps({"model": model, "seed": seed, **request}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _conflict(job_id: str) -> ApiError:
    return ApiError(409, f"this Idempotency-Key was already used for a different request "
                    f"(job '{job_id}'); use a new key for a new request",
                    "idempotency_key_reused", "Idempotency-Key")
