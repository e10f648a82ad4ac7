"""Building the 402 challenge from the server's own route and price list."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .codec import encode_json_header
from .models import (
    PaymentRequired,
    PaymentRequiredV1,
    PaymentRequirements,
    PaymentRequirementsV1,
    ResourceInfo,
)
from .networks import Network, checksum, format_usd, get_network, usd_to_atomic

SCHEME_EXACT = "exact"
DEFAULT_MAX_TIMEOUT_SECONDS = 300


class PriceList:
    """Price per model in atomic USDC units, converted exactly from the USD settings."""

    def __init__(self, prices_usd: Mapping[str, Decimal | float | int | str]) -> None:
        self._atomic = {model: usd_to_atomic(usd) for model, usd in prices_usd.items()}

    def atomic(self, model: str) -> int:
        """The price of `model` in atomic units; KeyError for a model without a price."""
        try:
            return self._atomic[model]
        except KeyError:
            raise KeyError(f"no price configured for model {model!r}") from None

    def __contains__(self, model: object) -> bool:
        return model in self._atomic


def build_requirements(
    network: Network | str,
    pay_to: str,
    amount: int,
    max_timeout_seconds: int = DEFAULT_MAX_TIMEOUT_SECONDS,
) -> PaymentRequirements:
    """One `exact` USDC requirement; the EIP-712 domain comes from our network table."""
    net = get_network(network) if isinstance(network, str) else network
    if amount <= 0:
        raise ValueError("a paid route needs a positive price")
    return PaymentRequirements(
        scheme=SCHEME_EXACT,
        network=net.caip2,
        amount=str(amount),
        asset=net.asset,
        pay_to=checksum(pay_to),
        max_timeout_seconds=max_timeout_seconds,
        extra={"name": net.token_name, "version": net.token_version},
    )


def build_payment_required(
    resource_url: str,
    accepts: list[PaymentRequirements],
    *,
    description: str | None = None,
    mime_type: str | None = "application/json",
    error: str | None = None,
) -> PaymentRequired:
    """The v2 PaymentRequired for a resource."""
    return PaymentRequired(
        error=error,
        resource=ResourceInfo(url=resource_url, description=description, mime_type=mime_type),
        accepts=accepts,
    )


def to_v1(required: PaymentRequired) -> PaymentRequiredV1:
    """The same challenge in the legacy v1 body form (network names, maxAmountRequired)."""
    entries = [
        PaymentRequirementsV1(
            scheme=req.scheme,
            network=get_network(req.network).v1_name,
            max_amount_required=req.amount,
            resource=required.resource.url,
            description=required.resource.description or "",
            mime_type=required.resource.mime_type or "",
            pay_to=req.pay_to,
            max_timeout_seconds=req.max_timeout_seconds,
            asset=req.asset,
            extra=dict(req.extra),
        )
        for req in required.accepts
    ]
    return PaymentRequiredV1(error=required.error, accepts=entries)


def challenge_headers(required: PaymentRequired) -> dict[str, str]:
    """Headers of a 402: PAYMENT-REQUIRED plus the vendor's aliases, never cached."""
    value = encode_json_header(required)
    return {
        "PAYMENT-REQUIRED": value,
        "X-Payment-Required": value,
        "WWW-Authenticate": f'X402 requirements="{value}"',
        "Cache-Control": "no-store",
    }


def challenge_body(required: PaymentRequired, model: str | None = None) -> dict[str, Any]:
    """JSON body of a 402: the v1 challenge plus the price in USD and atomic units."""
    first = required.accepts[0]
    body = to_v1(required).to_wire()
    body["error"] = required.error or "Payment required"
    body["price"] = {
        "usd": format_usd(first.amount),
        "amount": first.amount,
        "currency": "USDC",
        "decimals": 6,
        "network": first.network,
        "asset": first.asset,
        "payTo": first.pay_to,
    }
    if model is not None:
        body["price"]["model"] = model
    return body
