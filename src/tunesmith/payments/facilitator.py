"""The Facilitator protocol and its HTTP client (POST /verify, POST /settle, GET /supported)."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, runtime_checkable

import httpx
from pydantic import BaseModel, ValidationError

from . import errors
from .errors import PaymentError
from .models import (
    PaymentPayload,
    PaymentRequirements,
    SettleResponse,
    SupportedResponse,
    VerifyResponse,
)

_M = TypeVar("_M", bound=BaseModel)


@runtime_checkable
class Facilitator(Protocol):
    """Verifies and settles payments; the HTTP one and the local ledger are interchangeable."""

    def verify(
        self, payload: PaymentPayload, requirements: PaymentRequirements
    ) -> VerifyResponse: ...

    def settle(
        self, payload: PaymentPayload, requirements: PaymentRequirements
    ) -> SettleResponse: ...

    def supported(self) -> SupportedResponse: ...


class FacilitatorUnavailable(PaymentError):
    """The facilitator could not be reached or answered nonsense (a 502, not the payer's fault)."""

    def __init__(self, message: str, code: str = errors.UNEXPECTED_VERIFY_ERROR) -> None:
        super().__init__(code, message, status=502)


class HttpFacilitator:
    """A remote x402 facilitator spoken to over HTTP with an optional bearer token."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        verify_timeout: float = 10.0,
        settle_timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, transport=transport
        )
        self._verify_timeout = verify_timeout
        # Settlement waits for a block; give it longer than a verification.
        self._settle_timeout = settle_timeout

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    @staticmethod
    def _body(payload: PaymentPayload, requirements: PaymentRequirements) -> dict[str, Any]:
        return {
            "x402Version": payload.x402_version,
            "paymentPayload": payload.to_wire(),
            "paymentRequirements": requirements.to_wire(),
        }

    def _call(
        self, method: str, path: str, model: type[_M], timeout: float, code: str, **kw: Any
    ) -> _M:
        try:
            response = self._client.request(method, path, timeout=timeout, **kw)
        except httpx.HTTPError as exc:
            raise FacilitatorUnavailable(f"facilitator {path} failed: {exc}", code) from exc
        try:
            # Facilitators answer a refused payment with a 4xx carrying the same JSON shape.
            return model.model_validate(response.json())
        except (ValueError, ValidationError) as exc:
            raise FacilitatorUnavailable(
                f"facilitator {path} answered {response.status_code} without a valid body", code
            ) from exc

    def verify(self, payload: PaymentPayload, requirements: PaymentRequirements) -> VerifyResponse:
        """POST /verify."""
        body = self._body(payload, requirements)
        return self._call(
            "POST",
            "/verify",
            VerifyResponse,
            self._verify_timeout,
            errors.UNEXPECTED_VERIFY_ERROR,
            json=body,
        )

    def settle(self, payload: PaymentPayload, requirements: PaymentRequirements) -> SettleResponse:
        """POST /settle."""
        body = self._body(payload, requirements)
        return self._call(
            "POST",
            "/settle",
            SettleResponse,
            self._settle_timeout,
            errors.UNEXPECTED_SETTLE_ERROR,
            json=body,
        )

    def supported(self) -> SupportedResponse:
        """GET /supported."""
        return self._call(
            "GET",
            "/supported",
            SupportedResponse,
            self._verify_timeout,
            errors.UNEXPECTED_VERIFY_ERROR,
        )
