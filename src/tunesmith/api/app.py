"""The FastAPI application factory: ``build_app(settings)`` wires every room together."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from tunesmith import __version__
from tunesmith.api.errors import install_error_handlers
from tunesmith.api.limits import BodyLimit, RateLimiter
from tunesmith.api.metrics import Metrics, MetricsMiddleware
from tunesmith.api.payment import PaymentDesk, install_payment_errors
from tunesmith.api.routes import router
from tunesmith.api.service import GenerationService
from tunesmith.config import Settings
from tunesmith.jobs.pool import WorkerPool
from tunesmith.jobs.settlement import Settlement
from tunesmith.jobs.store import Clock, JobStore
from tunesmith.storage import LocalStore
from tunesmith.web import mount_playground


def build_app(settings: Settings | None = None, clock: Clock = time.time,
              workers: bool = True) -> FastAPI:
    """The whole service; ``workers=False`` serves the API without generating (tests, docs)."""
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    jobs = JobStore(settings.resolved_database_url, clock)
    tracks = LocalStore(settings.tracks_dir, settings.secret_bytes(), clock)
    pool = WorkerPool(settings, jobs, tracks, clock) if workers else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if pool:
            pool.start()
        try:
            yield
        finally:
            if pool:
                pool.stop()

    app = FastAPI(title="tunesmith", version=__version__, lifespan=lifespan,
                  description="Music generation API: prompt in, mixed and mastered MP3 out.")
    app.state.settings, app.state.tracks, app.state.pool = settings, tracks, pool
    app.state.service = GenerationService(settings, jobs, tracks, clock)
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute, clock)
    app.state.payments = _payment_desk(settings, jobs, pool, clock)
    metrics = Metrics()
    metrics.watch_jobs(jobs.counts, lambda: pool.alive() if pool else 0)
    install_error_handlers(app)
    install_payment_errors(app)
    app.include_router(router)
    app.include_router(router, prefix="/api")
    _add_operations_routes(app, jobs, pool, metrics)
    mount_playground(app)  # last: the page never shadows an API route
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app


def _payment_desk(settings: Settings, jobs: JobStore, pool: WorkerPool | None,
                  clock: Clock) -> PaymentDesk | None:
    """The payment desk when payments are on (sharing the pool's settlement when there is one)."""
    settlement = pool.settlement if pool else Settlement.from_settings(settings, jobs, clock)
    return PaymentDesk(settlement, clock) if settlement else None


def _add_operations_routes(app: FastAPI, jobs: JobStore, pool: WorkerPool | None,
                           metrics: Metrics) -> None:
    @app.get("/healthz")
    async def healthz(request: Request) -> dict[str, Any]:
        """Liveness plus queue depth and which engines can run."""
        counts = jobs.counts()
        service: GenerationService = request.app.state.service
        return {
            "status": "ok" if (pool is None or pool.alive() > 0) else "degraded",
            "version": __version__,
            "queue": {"queued": counts.get("queued", 0),
                      "in_progress": counts.get("in_progress", 0)},
            "workers": {"alive": pool.alive() if pool else 0,
                        "configured": request.app.state.settings.workers},
            "engines": {m.model_id: m.unavailable_reason or "available"
                        for m in service.models.values()},
        }

    @app.get("/metrics")
    async def prometheus_metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(metrics.registry),
                                 media_type=CONTENT_TYPE_LATEST)
