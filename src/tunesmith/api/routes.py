"""HTTP routes. Thin: parse, call the service, shape the answer. Served under /v1 and /api/v1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

from tunesmith.api.errors import ApiError
from tunesmith.api.payment import PaymentDesk
from tunesmith.api.schemas import GenerationBody, GenerationResponse, JobResponse
from tunesmith.api.service import GenerationService
from tunesmith.jobs.models import COMPLETED, IN_PROGRESS, TERMINAL
from tunesmith.storage import InvalidLink

router = APIRouter()
SSE_POLL_SECONDS = 0.25
SSE_KEEPALIVE_SECONDS = 15.0


def get_service(request: Request) -> GenerationService:
    service: GenerationService = request.app.state.service
    return service


Service = Annotated[GenerationService, Depends(get_service)]


def get_desk(request: Request) -> PaymentDesk | None:
    """The payment desk, or None when payments are off."""
    desk: PaymentDesk | None = request.app.state.payments
    return desk


def base_url(request: Request) -> str:
    configured = request.app.state.settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


def route_prefix(request: Request) -> str:
    """'/api' when the client called the /api/v1 routes, so links keep its prefix."""
    return "/api" if request.url.path.startswith("/api/") else ""


def client_id(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/v1/audio/generations", response_model=GenerationResponse,
             responses={202: {"model": JobResponse}, 402: {"description": "Payment required"}})
async def create_generation(
    body: GenerationBody, request: Request, service: Service,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
    prefer: Annotated[str | None, Header()] = None,
) -> Response:
    """Generate a track: 200 with it when ready in time, else 202 with a job to poll."""
    limiter = request.app.state.rate_limiter
    retry = limiter.retry_after(client_id(request))
    if retry is not None:
        raise ApiError(429, f"rate limit of {limiter.per_minute} generations per minute "
                       f"reached; retry in {retry} s", "rate_limited",
                       headers={"Retry-After": str(retry)})
    entry = service.resolve_model(body)
    desk = get_desk(request)
    if desk is None:
        job, _ = await asyncio.to_thread(service.submit, body, entry, client_id(request),
                                         idempotency_key)
    else:
        resource = f"{base_url(request)}{request.url.path}"
        job = await desk.submit(service, body, entry, client_id(request), idempotency_key,
                                request.headers, resource)
    wait = 0.0 if prefer and "respond-async" in prefer.lower() else \
        request.app.state.settings.sync_wait_seconds
    job = await service.wait(job.id, wait)
    return await _answer(service, job, request)


async def _answer(service: GenerationService, job: Any, request: Request) -> Response:
    """The 200 with the track (plus receipt), an error for an ended job, or the 202 job."""
    job, receipt = await _settled(job, request)
    if job.status == COMPLETED and receipt is not None:
        body = GenerationResponse(created=int(job.created_at), model=job.model, id=job.id,
                                  data=service.track_data(job, base_url(request)))
        return JSONResponse(body.model_dump(exclude_none=True), headers=receipt)
    if job.status in TERMINAL and job.status != COMPLETED:
        raise service.failure(job)
    view = _job_view(service, job, request, receipt)
    return JSONResponse(view.model_dump(exclude_none=True), status_code=202,
                        headers={"Location": view.poll_url, "Retry-After": "2"})


async def _settled(job: Any, request: Request) -> tuple[Any, dict[str, str] | None]:
    """Settle or release an ended paid job's payment: (job now, receipt or None if pending)."""
    desk = get_desk(request)
    if desk is None:
        return job, {}
    return await desk.finish(job)


def _job_view(service: GenerationService, job: Any, request: Request,
              receipt: dict[str, str] | None) -> JobResponse:
    view = service.job_view(job, base_url(request), route_prefix(request))
    if job.status == COMPLETED and receipt is None:
        # Stored but not paid yet: the link is withheld until settlement ends.
        return view.model_copy(update={"status": IN_PROGRESS, "stage": "settling",
                                       "progress": 0.99, "data": None})
    return view


async def _owned_job(job_id: str, request: Request, service: GenerationService) -> Any:
    """The job, once the caller has proved it is the payer (paid jobs only)."""
    job = await asyncio.to_thread(service.get, job_id)
    desk = get_desk(request)
    if desk is not None:
        desk.check_owner(job, request.headers)
    return job


@router.get("/v1/audio/generations/{job_id}", response_model=JobResponse)
async def get_generation(job_id: str, request: Request, service: Service) -> JSONResponse:
    """Poll a job: its status, progress and, once completed, its track.

    A paid job answers only its payer: send the payment header that paid for it, or
    X-Payer-Signature (see tunesmith.api.payment).
    """
    job = await _owned_job(job_id, request, service)
    job, receipt = await _settled(job, request)
    view = _job_view(service, job, request, receipt)
    return JSONResponse(view.model_dump(exclude_none=True), headers=receipt or {})


@router.delete("/v1/audio/generations/{job_id}", response_model=JobResponse)
async def cancel_generation(job_id: str, request: Request, service: Service) -> JSONResponse:
    """Cancel a queued or running job; a canceled job is never charged."""
    await _owned_job(job_id, request, service)
    job = await asyncio.to_thread(service.cancel, job_id)
    job, receipt = await _settled(job, request)
    view = _job_view(service, job, request, receipt)
    return JSONResponse(view.model_dump(exclude_none=True))


@router.get("/v1/audio/generations/{job_id}/events")
async def generation_events(job_id: str, request: Request, service: Service) -> Response:
    """Server-Sent Events: one ``progress`` event per change, then the final state."""
    await _owned_job(job_id, request, service)  # 404 or 403 before the stream starts
    stream = _events(job_id, request, service)
    return StreamingResponse(stream, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _events(job_id: str, request: Request, service: Service) -> AsyncIterator[str]:
    last: tuple[Any, ...] | None = None
    quiet = 0.0
    while not await request.is_disconnected():
        job = await asyncio.to_thread(service.get, job_id)
        receipt: dict[str, str] | None = {}
        if job.status in TERMINAL:
            job, receipt = await _settled(job, request)
        ended = job.status in TERMINAL and receipt is not None
        state = (job.status, round(job.progress, 3), job.stage, ended)
        if state != last:
            last, quiet = state, 0.0
            try:
                view = _job_view(service, job, request, receipt).model_dump(exclude_none=True)
            except ApiError as exc:  # expired track
                view = {"id": job.id, "status": job.status, "error": {"message": exc.message}}
            kind = job.status if ended else "progress"
            yield f"event: {kind}\ndata: {json.dumps(view)}\n\n"
            if ended:
                return
        elif quiet >= SSE_KEEPALIVE_SECONDS:
            quiet = 0.0
            yield ": keep-alive\n\n"
        await asyncio.sleep(SSE_POLL_SECONDS)
        quiet += SSE_POLL_SECONDS


@router.get("/v1/models")
@router.get("/v1/audio/models")
async def list_models(service: Service) -> dict[str, Any]:
    """Every model with its price, capabilities and availability. Free."""
    return {"object": "list", "data": [_model_json(e) for e in service.models.values()]}


def _model_json(entry: Any) -> dict[str, Any]:
    caps = entry.capabilities
    return {
        "id": entry.model_id, "object": "model", "owned_by": entry.owned_by,
        "description": caps.description, "billing_mode": "per_track",
        "pricing": {"per_track": caps.price_usd, "currency": "USD"},
        "supports_lyrics": caps.lyrics, "supports_instrumental": caps.instrumental,
        "min_duration_seconds": caps.min_duration_seconds,
        "max_duration_seconds": caps.max_duration_seconds,
        "exact_duration": caps.exact_duration,
        "available": entry.available, "unavailable_reason": entry.unavailable_reason,
    }


@router.get("/v1/files/{key}")
async def download_track(key: str, request: Request, expires: str | None = None,
                         sig: str | None = None) -> FileResponse:
    """A stored track behind a signed link; supports HTTP Range."""
    try:
        path = request.app.state.tracks.check(key, expires, sig)
    except InvalidLink as exc:
        raise ApiError(403, str(exc), "invalid_link") from exc
    return FileResponse(path, media_type="audio/mpeg", filename=key,
                        headers={"Cache-Control": "private, max-age=3600"})
