"""The SDK's exception tree.

    TunesmithError
    ├── APIConnectionError          the server could not be reached
    │   └── APITimeoutError         it did not answer in time
    ├── APIStatusError              the server answered with an error envelope
    │   ├── BadRequestError         400: fix the request (``param`` names the field)
    │   ├── PaymentRequiredError    402: pay (``payment_required`` holds the requirements)
    │   ├── PermissionDeniedError   403: tampered/expired link, other payer's job
    │   ├── NotFoundError           404
    │   ├── ConflictError           409: canceled job, reused idempotency key
    │   ├── GoneError               410: the track expired
    │   ├── RateLimitError          429: ``retry_after`` seconds
    │   ├── ServiceUnavailableError 503
    │   ├── GatewayTimeoutError     504: generation exceeded its deadline (retryable)
    │   └── InternalServerError     other 5xx
    ├── GenerationFailedError       a polled job ended failed (``job`` holds it)
    │   └── GenerationCanceledError a polled job was canceled
    └── SpendCapExceeded            paying would pass a spend cap
"""

from __future__ import annotations

from typing import Any

import httpx


class TunesmithError(Exception):
    """Base of every SDK error."""


class APIConnectionError(TunesmithError):
    pass


class APITimeoutError(APIConnectionError):
    pass


class APIStatusError(TunesmithError):
    """An error answer; ``code``/``param``/``message`` come from the envelope."""

    status_code = 0

    def __init__(self, message: str, response: httpx.Response, body: Any):
        super().__init__(message)
        self.message, self.response, self.body = message, response, body
        self.status_code = response.status_code
        error = body.get("error", {}) if isinstance(body, dict) else {}
        self.code: str | None = error.get("code")
        self.param: str | None = error.get("param")
        self.job_id: str | None = error.get("job_id")
        retry = response.headers.get("Retry-After", "")
        numeric = retry.replace(".", "", 1).isdigit()
        self.retry_after: float | None = float(retry) if numeric else None


class BadRequestError(APIStatusError):
    pass


class PaymentRequiredError(APIStatusError):
    @property
    def payment_required(self) -> str | None:
        return self.response.headers.get("PAYMENT-REQUIRED")


class PermissionDeniedError(APIStatusError):
    pass


class NotFoundError(APIStatusError):
    pass


class ConflictError(APIStatusError):
    pass


class GoneError(APIStatusError):
    pass


class RateLimitError(APIStatusError):
    pass


class InternalServerError(APIStatusError):
    pass


class ServiceUnavailableError(InternalServerError):
    pass


class GatewayTimeoutError(InternalServerError):
    pass


class GenerationFailedError(TunesmithError):
    def __init__(self, message: str, job: Any):
        super().__init__(message)
        self.job = job


class GenerationCanceledError(GenerationFailedError):
    pass


class SpendCapExceeded(TunesmithError):
    pass


STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError, 402: PaymentRequiredError, 403: PermissionDeniedError,
    404: NotFoundError, 409: ConflictError, 410: GoneError, 413: BadRequestError,
    422: BadRequestError, 429: RateLimitError, 503: ServiceUnavailableError,
    504: GatewayTimeoutError,
}


def error_for(response: httpx.Response) -> APIStatusError:
    """The typed error for an error response."""
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    error = body.get("error", {}) if isinstance(body, dict) else {}
    message = error.get("message") or f"HTTP {response.status_code}"
    cls = STATUS_ERRORS.get(response.status_code)
    if cls is None:
        cls = InternalServerError if response.status_code >= 500 else APIStatusError
    return cls(f"{response.status_code} {message}", response, body)
