"""What the sync and async clients share: request shapes, retry policy, answer parsing."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from typing import Any, Protocol

import httpx

from tunesmith.client.errors import (
    GenerationCanceledError, GenerationFailedError, error_for,
)
from tunesmith.client.types import Generation, Job

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
# The server holds a POST open up to ~60 s and upstream models take 1-5 minutes.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=200.0, write=30.0, pool=10.0)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF_SECONDS = 30.0

ProgressCallback = Callable[[float, str], None]


class PaymentHandler(Protocol):
    """Turns a 402 answer into the headers that pay for the retried request (or None)."""

    def __call__(self, response: httpx.Response) -> dict[str, str] | None: ...


# Request headers that carry a payment; a paid job's polls resend them to prove who paid.
PAYMENT_HEADERS = ("payment-signature", "x-payment", "x-payer-signature")


def payment_proof(headers: httpx.Headers) -> dict[str, str]:
    """The payment headers a request carried (empty when it was not paid)."""
    return {name: headers[name] for name in PAYMENT_HEADERS if name in headers}


def refund(pay: PaymentHandler | None, headers: dict[str, str]) -> None:
    """Tell a handler that keeps spend records that this payment was not charged."""
    give_back = getattr(pay, "refund", None)
    if headers and callable(give_back):
        give_back(headers)


def generation_body(prompt: str, model: str | None, instrumental: bool, lyrics: str | None,
                    duration_seconds: int, seed: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"prompt": prompt, "instrumental": instrumental,
                            "duration_seconds": duration_seconds}
    for name, value in (("model", model), ("lyrics", lyrics), ("seed", seed)):
        if value is not None:
            body[name] = value
    return body


def generation_headers(idempotency_key: str | None, respond_async: bool) -> dict[str, str]:
    headers = {"Idempotency-Key": idempotency_key or f"ts-{uuid.uuid4()}"}
    if respond_async:
        headers["Prefer"] = "respond-async"
    return headers


def api_root(base_url: str) -> str:
    """Accept ``http://host:8000``, ``http://host:8000/api`` or ``.../v1``; return the /v1 root."""
    root = base_url.rstrip("/")
    return root if root.endswith("/v1") else f"{root}/v1"


def should_retry(status: int) -> bool:
    return status in RETRY_STATUSES


def backoff_seconds(attempt: int, response: httpx.Response | None = None) -> float:
    """Jittered exponential backoff, or what the server's Retry-After asks for."""
    if response is not None:
        retry_after = response.headers.get("Retry-After", "")
        try:
            return min(MAX_BACKOFF_SECONDS, max(0.0, float(retry_after)))
        except ValueError:
            pass
    base = min(MAX_BACKOFF_SECONDS, 0.5 * 2**attempt)
    return base * (0.5 + random.random() / 2)


def parse_generation_answer(response: httpx.Response) -> Generation | Job:
    """200 → Generation, 202 → Job, anything else → the typed error."""
    if response.status_code == 200:
        return Generation.from_json(response.json(), response.headers)
    if response.status_code == 202:
        return Job.from_json(response.json())
    raise error_for(response)


def parse_job(response: httpx.Response) -> Generation | Job:
    """A poll answer: a Generation once completed, a Job while running; raises on failure."""
    if response.status_code != 200:
        raise error_for(response)
    body = response.json()
    job = Job.from_json(body)
    if job.status == "completed":
        return Generation.from_json({**body, "created": body.get("created", 0)},
                                    response.headers)
    if job.status == "failed":
        raise GenerationFailedError(f"generation {job.id} failed: {job.error_message}", job)
    if job.status == "canceled":
        raise GenerationCanceledError(f"generation {job.id} was canceled", job)
    return job
