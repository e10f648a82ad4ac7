"""One error envelope for every failure: ``{"error": {"message", "type", "code", "param"}}``.

Messages say what to fix; a 500 never carries internals.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("tunesmith.api")

ERROR_TYPES = {
    400: "invalid_request_error",
    402: "payment_required",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    410: "gone_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    503: "service_unavailable_error",
    504: "timeout_error",
}


class ApiError(Exception):
    """An error answered with the envelope; ``headers`` go on the response."""

    def __init__(self, status: int, message: str, code: str, param: str | None = None,
                 headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param
        self.headers = headers or {}
        self.extra = extra or {}


def envelope(status: int, message: str, code: str, param: str | None = None,
             **extra: Any) -> dict[str, Any]:
    error = {"message": message, "type": ERROR_TYPES.get(status, "server_error"), "code": code,
             "param": param, **extra}
    return {"error": error}


def error_response(exc: ApiError) -> JSONResponse:
    body = envelope(exc.status, exc.message, exc.code, exc.param, **exc.extra)
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception through the envelope."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(validation_error(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = "no such route; see /docs" if exc.status_code == 404 else str(exc.detail)
        return error_response(ApiError(exc.status_code, message, code))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(ApiError(500, "internal server error; retry the request",
                                       "internal_error"))


def validation_error(errors: Any) -> ApiError:
    """The first validation problem as a 400 naming the field and what to fix."""
    first = next(iter(errors)) if errors else {"loc": (), "msg": "invalid request"}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body",)]
    param = ".".join(loc) or None
    message = str(first.get("msg", "invalid value"))
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if first.get("type") == "json_invalid":
        return ApiError(400, "request body is not valid JSON", "invalid_json")
    if first.get("type") == "missing":
        message = f"'{param}' is required"
    elif param:
        message = f"invalid '{param}': {message}"
    return ApiError(400, message, "invalid_parameter", param)
