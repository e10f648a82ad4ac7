"""Header codecs: standard base64 of UTF-8 JSON out; tolerant (unpadded, url-safe) in."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import HeaderDecodeError
from .models import (
    PaymentPayload,
    PaymentPayloadV1,
    PaymentRequired,
    SettleResponse,
)

# Far above any real payment header (~1.5 kB), low enough that a hostile header cannot
# make us base64-decode and parse megabytes.
MAX_HEADER_CHARS = 16_384
_B64_CHARS = re.compile(r"^[A-Za-z0-9+/_-]*={0,2}$")


def encode_json_header(data: BaseModel | dict[str, Any]) -> str:
    """Standard base64 (with padding) of compact UTF-8 JSON with camelCase keys."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json", by_alias=True, exclude_none=True)
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.b64encode(raw).decode("ascii")


def _b64decode(value: str) -> bytes:
    text = "".join(value.split())
    if not _B64_CHARS.match(text):
        raise HeaderDecodeError("header is not base64")
    # Accept the url-safe alphabet and missing padding: some clients send either.
    text = text.rstrip("=").replace("-", "+").replace("_", "/")
    if len(text) % 4 == 1:
        raise HeaderDecodeError("header has an impossible base64 length")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise HeaderDecodeError("header is not base64") from exc


def decode_json_header(value: str | bytes) -> dict[str, Any]:
    """Decode a base64 JSON-object header; raises HeaderDecodeError with a short reason."""
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError as exc:
            raise HeaderDecodeError("header is not ASCII") from exc
    if not isinstance(value, str) or not value.strip():
        raise HeaderDecodeError("header is empty")
    if len(value) > MAX_HEADER_CHARS:
        raise HeaderDecodeError(f"header is longer than {MAX_HEADER_CHARS} characters")
    raw = _b64decode(value)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise HeaderDecodeError("header is not base64 of UTF-8 JSON") from exc
    if not isinstance(data, dict):
        raise HeaderDecodeError("header JSON is not an object")
    return data


def _validation_summary(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "payload"
    return f"{where}: {first['msg']}"


def parse_payment_payload(data: dict[str, Any]) -> PaymentPayload | PaymentPayloadV1:
    """A decoded payment dict as the v2 or v1 model, chosen by `x402Version`."""
    version = data.get("x402Version", data.get("x402_version"))
    model: type[PaymentPayload] | type[PaymentPayloadV1]
    model = PaymentPayloadV1 if version == 1 else PaymentPayload
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise HeaderDecodeError(f"malformed payment: {_validation_summary(exc)}") from exc


def decode_payment_payload(value: str | bytes) -> PaymentPayload | PaymentPayloadV1:
    """Decode a PAYMENT-SIGNATURE / X-PAYMENT header value."""
    return parse_payment_payload(decode_json_header(value))


def decode_payment_required(value: str | bytes) -> PaymentRequired:
    """Decode a PAYMENT-REQUIRED header value."""
    try:
        return PaymentRequired.model_validate(decode_json_header(value))
    except ValidationError as exc:
        raise HeaderDecodeError(f"malformed challenge: {_validation_summary(exc)}") from exc


def decode_settle_response(value: str | bytes) -> SettleResponse:
    """Decode a PAYMENT-RESPONSE header value."""
    try:
        return SettleResponse.model_validate(decode_json_header(value))
    except ValidationError as exc:
        raise HeaderDecodeError(f"malformed receipt: {_validation_summary(exc)}") from exc
