"""Server-side payment checks: match the client's choice to our offer, then the signature."""

from __future__ import annotations

from typing import Any

from . import eip3009, errors
from .errors import PaymentError
from .models import PaymentPayload, PaymentPayloadV1, PaymentRequirements, VerifyResponse
from .networks import find_network, same_address
from .requirements import SCHEME_EXACT

# validBefore must leave this many seconds for the transfer to be mined, as the official
# facilitator requires.
VALID_BEFORE_MARGIN_SECONDS = 6
SUPPORTED_VERSIONS = (1, 2)


def _extra_matches(offered: dict[str, Any], accepted: dict[str, Any]) -> bool:
    return all(accepted.get(key) == value for key, value in offered.items())


def _mismatch(offered: PaymentRequirements, accepted: PaymentRequirements) -> str | None:
    """The error code for the first way `accepted` differs from `offered`, or None."""
    if accepted.scheme != offered.scheme:
        return errors.INVALID_SCHEME
    if accepted.network != offered.network or not same_address(accepted.asset, offered.asset):
        return errors.INVALID_NETWORK
    if not same_address(accepted.pay_to, offered.pay_to):
        return errors.RECIPIENT_MISMATCH
    if accepted.amount != offered.amount:
        return errors.VALUE_MISMATCH
    if accepted.max_timeout_seconds != offered.max_timeout_seconds:
        return errors.INVALID_PAYLOAD
    if not _extra_matches(offered.extra, accepted.extra):
        return errors.INVALID_PAYLOAD
    return None


def match_accepted(
    payload: PaymentPayload, offered: list[PaymentRequirements]
) -> PaymentRequirements:
    """The offered entry the client's `accepted` copies; PaymentError naming the difference."""
    if not offered:
        raise ValueError("nothing offered")
    codes = []
    for entry in offered:
        code = _mismatch(entry, payload.accepted)
        if code is None:
            return entry
        codes.append(code)
    # Report the most specific difference: the one against the entry on the same network.
    wanted = payload.accepted.network
    same_net = [c for e, c in zip(offered, codes, strict=True) if e.network == wanted]
    code = (same_net or codes)[0]
    raise PaymentError(code, "the payment does not match what this resource accepts")


def normalize(
    payment: PaymentPayload | PaymentPayloadV1, offered: list[PaymentRequirements]
) -> tuple[PaymentPayload, PaymentRequirements]:
    """A v1 or v2 payment as a v2 payload plus the offered requirement it pays."""
    if isinstance(payment, PaymentPayloadV1):
        # v1 names the network and scheme only; the signed authorization carries the rest,
        # and `check_authorization` compares it with our requirement.
        net = find_network(payment.network)
        for entry in offered:
            if entry.scheme == payment.scheme and net is not None and entry.network == net.caip2:
                v2 = PaymentPayload(accepted=entry, payload=payment.payload)
                return v2, entry
        code = errors.INVALID_SCHEME if payment.scheme != SCHEME_EXACT else errors.INVALID_NETWORK
        raise PaymentError(code, f"{payment.scheme} on {payment.network} is not accepted here")
    if payment.x402_version not in SUPPORTED_VERSIONS:
        raise PaymentError(errors.INVALID_X402_VERSION, f"x402Version {payment.x402_version}")
    return payment, match_accepted(payment, offered)


def _invalid(code: str, message: str, payer: str | None) -> VerifyResponse:
    return VerifyResponse(is_valid=False, invalid_reason=code, invalid_message=message, payer=payer)


def check_authorization(
    payment: PaymentPayload, requirements: PaymentRequirements, now: int
) -> VerifyResponse:
    """Every stateless rule of the exact EVM scheme; nonce and balance are the facilitator's."""
    auth = payment.payload.authorization
    payer = auth.from_
    if payment.x402_version not in SUPPORTED_VERSIONS:
        return _invalid(errors.INVALID_X402_VERSION, "unsupported x402Version", payer)
    if payment.accepted.scheme != SCHEME_EXACT or requirements.scheme != SCHEME_EXACT:
        return _invalid(errors.INVALID_SCHEME, "only the exact scheme is supported", payer)
    net = find_network(requirements.network)
    if net is None or payment.accepted.network != requirements.network:
        return _invalid(errors.INVALID_NETWORK, f"network {requirements.network}", payer)
    if not same_address(requirements.asset, net.asset):
        return _invalid(errors.INVALID_NETWORK, f"asset is not USDC on {net.label}", payer)
    if not same_address(auth.to, requirements.pay_to):
        return _invalid(errors.RECIPIENT_MISMATCH, "authorization pays someone else", payer)
    if int(auth.value) != int(requirements.amount):
        return _invalid(errors.VALUE_MISMATCH, f"value must be {requirements.amount}", payer)
    if int(auth.valid_after) > now:
        return _invalid(errors.VALID_AFTER, "authorization is not valid yet", payer)
    if int(auth.valid_before) < now + VALID_BEFORE_MARGIN_SECONDS:
        return _invalid(errors.VALID_BEFORE, "authorization expired or expires too soon", payer)
    signer = eip3009.recover(auth, payment.payload.signature, net)
    if signer is None or not same_address(signer, auth.from_):
        return _invalid(errors.INVALID_SIGNATURE, "signature does not match `from`", payer)
    return VerifyResponse(is_valid=True, payer=payer)
