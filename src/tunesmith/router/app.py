"""The local paying router: the contract's routes on 127.0.0.1, paid from the local wallet.

A caller posts exactly what it would post to the paid server, with no payment headers. The
router forwards the body upstream with the SDK, which answers the 402 from the wallet within
the spend policy (429 here when a cap would be passed), follows a 202 job by polling, then
downloads every track at once and serves it from its own disk, so callers never hold an
upstream link that expires. The upstream receipt (``X-Payment-Receipt``, ``PAYMENT-RESPONSE``)
is passed through. When the upstream takes longer than ``sync_wait_seconds``, the router
answers 202 with its own poll URL and keeps following the job in the background.

Router jobs live in memory: a router restart forgets them (the tracks stay on disk).
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import FastAPI, Header, Request
from fastapi.responses import FileResponse, JSONResponse

from tunesmith import __version__
from tunesmith.api.errors import envelope
from tunesmith.client import (
    APIConnectionError,
    APIStatusError,
    AsyncClient,
    Generation,
    GenerationFailedError,
    SpendCapExceeded,
    pay_with,
)
from tunesmith.config import Settings
from tunesmith.payments import SpendPolicy, Wallet

RECEIPT_HEADERS = ("X-Payment-Receipt", "PAYMENT-RESPONSE")


@dataclass
class RouterJob:
    """One forwarded generation as the router's callers see it."""

    id: str
    base_url: str
    model: str
    created: int = field(default_factory=lambda: int(time.time()))
    status: str = "in_progress"
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    error_status: int = 0
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def poll_url(self) -> str:
        return f"{self.base_url}/v1/audio/generations/{self.id}"

    def view(self) -> dict[str, Any]:
        """The job object of a 202 answer or a poll (the server's shape)."""
        view: dict[str, Any] = {
            "id": self.id, "object": "audio.generation.job", "status": self.status,
            "model": self.model, "created": self.created, "poll_url": self.poll_url,
            "progress": 1.0 if self.status == "completed" else 0.0, "stage": self.status,
        }
        if self.status == "completed" and self.body:
            view["data"] = self.body.get("data", [])
        if self.status == "failed" and self.body:
            view["error"] = self.body.get("error")
        return view


class Forwarder:
    """Runs generations upstream and keeps their tracks on local disk."""

    def __init__(self, client: AsyncClient, files_dir: Path):
        self.client, self.files_dir = client, files_dir
        self.jobs: dict[str, RouterJob] = {}
        self._by_key: dict[str, RouterJob] = {}
        files_dir.mkdir(parents=True, exist_ok=True)

    def start(self, body: dict[str, Any], key: str | None, base_url: str) -> RouterJob:
        """A router job following `body` upstream (the same one again for a retried key)."""
        if key and key in self._by_key:
            return self._by_key[key]
        job = RouterJob(id="rtr_" + secrets.token_hex(12), base_url=base_url,
                        model=str(body.get("model") or ""))
        self.jobs[job.id] = job
        if key:
            self._by_key[key] = job
        # One upstream key per caller key, so the SDK's retries never pay twice upstream.
        upstream_key = f"router-{key}" if key else f"router-{uuid.uuid4()}"
        job.task = asyncio.create_task(self._follow(job, body, upstream_key))
        return job

    async def _follow(self, job: RouterJob, body: dict[str, Any], key: str) -> None:
        try:
            answer = await self.client.submit(body, idempotency_key=key)
            result = answer if isinstance(answer, Generation) else \
                await self.client.wait(answer.id)
            job.body, job.headers = await self._localize(job, result), _receipt(result)
            job.model = result.model or job.model
            job.status = "completed"
        except SpendCapExceeded as exc:
            self._fail(job, 429, envelope(429, f"{exc}; raise TUNESMITH_MAX_USD_PER_REQUEST / "
                                          "TUNESMITH_MAX_USD_PER_DAY or wait for the next UTC "
                                          "day", "spend_cap_exceeded"))
        except APIStatusError as exc:
            body = exc.body if isinstance(exc.body, dict) and exc.body else \
                envelope(exc.status_code, exc.message, exc.code or "upstream_error")
            self._fail(job, exc.status_code, body)
        except GenerationFailedError as exc:
            error = exc.job.raw.get("error") or {}
            self._fail(job, 500, {"error": {**envelope(500, str(exc), "generation_failed")[
                "error"], **error}})
        except APIConnectionError as exc:
            self._fail(job, 502, envelope(502, f"the upstream did not answer: {exc}",
                                          "upstream_unreachable"))

    @staticmethod
    def _fail(job: RouterJob, status: int, body: dict[str, Any]) -> None:
        job.status, job.error_status, job.body = "failed", status, body

    async def _localize(self, job: RouterJob, result: Generation) -> dict[str, Any]:
        """Download every track now and point its URL at the router's own copy."""
        items = []
        for index, track in enumerate(result.data):
            name = f"{job.id}-{index}-{secrets.token_hex(8)}.mp3"
            await self.client.download(track, self.files_dir / name)
            items.append({**track.raw, "url": f"{job.base_url}/v1/files/{name}"})
        return {**result.raw, "id": job.id, "data": items}


def _receipt(result: Generation) -> dict[str, str]:
    headers = {"X-Payment-Receipt": result.receipt, "PAYMENT-RESPONSE": result.payment_response}
    return {name: value for name, value in headers.items() if value}


def build_router_app(settings: Settings | None = None, *, wallet: Wallet | None = None,
                     policy: SpendPolicy | None = None, poll_interval: float = 2.0,
                     transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """The router app; wallet and policy default to the configured ones."""
    settings = settings or Settings()
    payer = pay_with(wallet or Wallet.from_settings(settings),
                     policy or SpendPolicy.from_settings(settings))
    client = AsyncClient(settings.router_upstream, pay=payer, poll_interval=poll_interval,
                         transport=transport)
    forwarder = Forwarder(client, settings.data_dir / "router" / "tracks")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            for job in forwarder.jobs.values():
                if job.task and not job.task.done():
                    job.task.cancel()
            await client.close()

    app = FastAPI(title="tunesmith router", version=__version__, lifespan=lifespan,
                  description="Local paying proxy for the music generation contract.")
    app.state.forwarder, app.state.sync_wait = forwarder, settings.sync_wait_seconds
    for prefix in ("", "/api"):
        _add_routes(app, forwarder, prefix)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """Liveness, the upstream it pays, and how much the wallet spent today."""
        return {"status": "ok", "version": __version__, "upstream": settings.router_upstream,
                "spent_today_usd": str(payer.policy.spent_today()) if payer.policy else None}

    return app


def _add_routes(app: FastAPI, forwarder: Forwarder, prefix: str) -> None:
    @app.post(f"{prefix}/v1/audio/generations")
    async def generate(request: Request, idempotency_key: Annotated[
            str | None, Header(max_length=255)] = None) -> JSONResponse:
        """Forward, pay, follow, download; 200 with router links, or 202 to poll here."""
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return JSONResponse(envelope(400, "request body must be a JSON object",
                                         "invalid_json"), status_code=400)
        job = forwarder.start(body, idempotency_key, str(request.base_url).rstrip("/"))
        assert job.task is not None
        done, _ = await asyncio.wait({job.task}, timeout=request.app.state.sync_wait)
        if not done:
            return JSONResponse(job.view(), status_code=202,
                                headers={"Location": job.poll_url, "Retry-After": "5"})
        return _final(job)

    @app.get(f"{prefix}/v1/audio/generations/{{job_id}}")
    async def poll(job_id: str) -> JSONResponse:
        """A router job: in progress, completed (with the track and receipt) or failed."""
        job = forwarder.jobs.get(job_id)
        if job is None:
            return JSONResponse(envelope(404, f"no router job '{job_id}'", "job_not_found",
                                         "id"), status_code=404)
        headers = job.headers if job.status == "completed" else {}
        return JSONResponse(job.view(), headers=headers)

    @app.get(f"{prefix}/v1/models")
    @app.get(f"{prefix}/v1/audio/models")
    async def models() -> JSONResponse:
        """The upstream's model list (free)."""
        try:
            rows = await forwarder.client.models()
        except APIStatusError as exc:
            return JSONResponse(exc.body, status_code=exc.status_code)
        except APIConnectionError as exc:
            return JSONResponse(envelope(502, f"the upstream did not answer: {exc}",
                                         "upstream_unreachable"), status_code=502)
        return JSONResponse({"object": "list", "data": rows})

    @app.get(f"{prefix}/v1/files/{{name}}")
    async def download(name: str) -> Any:
        """A track the router downloaded and keeps."""
        path = forwarder.files_dir / Path(name).name
        if not name.endswith(".mp3") or not path.is_file():
            return JSONResponse(envelope(404, "no such track here", "not_found"),
                                status_code=404)
        return FileResponse(path, media_type="audio/mpeg", filename=path.name)


def _final(job: RouterJob) -> JSONResponse:
    if job.status == "completed":
        return JSONResponse(job.body, headers=job.headers)
    return JSONResponse(job.body, status_code=job.error_status or 502)
