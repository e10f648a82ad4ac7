"""x402 wire models (v2 and legacy v1): camelCase on the wire, unknown fields ignored."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_NONCE = re.compile(r"^0x[0-9a-fA-F]{64}$")
_HEX = re.compile(r"^0x(?:[0-9a-fA-F]{2})+$")
_UINT = re.compile(r"^[0-9]{1,78}$")
_UINT256_MAX = 2**256 - 1


class WireModel(BaseModel):
    """Base of every wire model: camelCase aliases, snake_case in Python, extras dropped."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        coerce_numbers_to_str=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict as it goes on the wire."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _check_address(value: str) -> str:
    if not _ADDRESS.match(value):
        raise ValueError("must be a 0x-prefixed 20-byte hex address")
    return value


def _check_uint(value: str) -> str:
    if not _UINT.match(value) or int(value) > _UINT256_MAX:
        raise ValueError("must be a decimal uint256 string")
    return value


class ResourceInfo(WireModel):
    """The resource a payment is for."""

    url: str
    description: str | None = None
    mime_type: str | None = None


class PaymentRequirements(WireModel):
    """One way to pay (v2 `accepts` entry): exact amount of `asset` to `pay_to` on `network`."""

    scheme: str
    network: str
    amount: str
    asset: str
    pay_to: str
    max_timeout_seconds: int
    extra: dict[str, Any] = Field(default_factory=dict)

    _amount = field_validator("amount")(_check_uint)


class PaymentRequired(WireModel):
    """The v2 402 challenge carried in the PAYMENT-REQUIRED header."""

    x402_version: int = 2
    error: str | None = None
    resource: ResourceInfo
    accepts: list[PaymentRequirements]
    extensions: dict[str, Any] | None = None


class PaymentRequirementsV1(WireModel):
    """One way to pay in the legacy v1 402 body (`maxAmountRequired`, network names)."""

    scheme: str
    network: str
    max_amount_required: str
    resource: str
    description: str = ""
    mime_type: str = ""
    pay_to: str
    max_timeout_seconds: int
    asset: str
    output_schema: dict[str, Any] | None = None
    extra: dict[str, Any] | None = None


class PaymentRequiredV1(WireModel):
    """The legacy v1 402 JSON body."""

    x402_version: Literal[1] = 1
    error: str | None = None
    accepts: list[PaymentRequirementsV1]


class Authorization(WireModel):
    """EIP-3009 TransferWithAuthorization fields, all strings on the wire."""

    from_: str = Field(alias="from")
    to: str
    value: str
    valid_after: str
    valid_before: str
    nonce: str

    _addresses = field_validator("from_", "to")(_check_address)
    _uints = field_validator("value", "valid_after", "valid_before")(_check_uint)

    @field_validator("nonce")
    @classmethod
    def _nonce(cls, value: str) -> str:
        if not _NONCE.match(value):
            raise ValueError("must be 0x followed by 32 bytes of hex")
        return value.lower()


class ExactPayload(WireModel):
    """The `exact` scheme's inner payload: a signature over an authorization."""

    signature: str
    authorization: Authorization

    @field_validator("signature")
    @classmethod
    def _signature(cls, value: str) -> str:
        if not _HEX.match(value):
            raise ValueError("must be 0x-prefixed hex")
        return value


class PaymentPayload(WireModel):
    """A v2 payment (PAYMENT-SIGNATURE header); `extensions` and other extras are ignored."""

    x402_version: int = 2
    resource: ResourceInfo | None = None
    accepted: PaymentRequirements
    payload: ExactPayload


class PaymentPayloadV1(WireModel):
    """A legacy v1 payment (X-PAYMENT header): scheme and network at the top level."""

    x402_version: Literal[1] = 1
    scheme: str
    network: str
    payload: ExactPayload


class VerifyResponse(WireModel):
    """A facilitator's verdict on a payment."""

    is_valid: bool
    invalid_reason: str | None = None
    invalid_message: str | None = None
    payer: str | None = None


class SettleResponse(WireModel):
    """A facilitator's settlement result (the PAYMENT-RESPONSE header)."""

    success: bool
    error_reason: str | None = None
    error_message: str | None = None
    payer: str | None = None
    transaction: str = ""
    network: str
    amount: str | None = None


class SupportedKind(WireModel):
    """One (version, scheme, network) a facilitator handles."""

    x402_version: int
    scheme: str
    network: str
    extra: dict[str, Any] | None = None


class SupportedResponse(WireModel):
    """What a facilitator handles (GET /supported)."""

    kinds: list[SupportedKind]
    extensions: list[str] = Field(default_factory=list)
    signers: dict[str, list[str]] = Field(default_factory=dict)
