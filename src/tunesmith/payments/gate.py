"""PaymentGate: the server-side façade a paid route calls (challenge, accept, settle, release)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from . import errors
from .codec import decode_payment_payload, encode_json_header
from .errors import HeaderDecodeError, PaymentError
from .facilitator import Facilitator, HttpFacilitator
from .ledger import LedgerFacilitator
from .models import PaymentPayload, PaymentRequired, PaymentRequirements, SettleResponse
from .requirements import (
    DEFAULT_MAX_TIMEOUT_SECONDS,
    PriceList,
    build_payment_required,
    build_requirements,
    challenge_body,
    challenge_headers,
)
from .reservations import SETTLED, PaymentRecords, Reservation
from .verify import check_authorization, normalize

Clock = Callable[[], float]

# Header names a client may pay with, in order of preference: v2, then the v1 name and
# the vendor's alias (compared case-insensitively, so X-PAYMENT and X-Payment are one).
PAYMENT_HEADERS = ("payment-signature", "x-payment")
RESPONSE_HEADER = "PAYMENT-RESPONSE"
RESPONSE_HEADER_V1 = "X-PAYMENT-RESPONSE"
RECEIPT_HEADER = "X-Payment-Receipt"


def find_payment_header(headers: Mapping[str, str]) -> str | None:
    """The payment header value, whichever accepted name and capitalisation carries it."""
    lowered = {key.lower(): value for key, value in headers.items()}
    for name in PAYMENT_HEADERS:
        value = lowered.get(name)
        if value and value.strip():
            return value
    return None


def facilitator_from_settings(settings: Any) -> Facilitator:
    """The HTTP facilitator at `facilitator_url`, else the local ledger in `data_dir`."""
    if settings.facilitator_url:
        return HttpFacilitator(settings.facilitator_url, settings.facilitator_token)
    return LedgerFacilitator(
        f"sqlite:///{settings.data_dir / 'ledger.db'}", network=settings.network
    )


class PaymentGate:
    """Prices a route, checks a payment, holds it during the work, then settles or releases."""

    def __init__(
        self,
        *,
        pay_to: str,
        network: str,
        prices: PriceList | Mapping[str, Decimal | float | str],
        facilitator: Facilitator,
        records: PaymentRecords,
        clock: Clock = time.time,
        max_timeout_seconds: int = DEFAULT_MAX_TIMEOUT_SECONDS,
        description: str = "tunesmith music generation",
    ) -> None:
        self.prices = prices if isinstance(prices, PriceList) else PriceList(prices)
        self.pay_to = pay_to
        self.network = network
        self.facilitator = facilitator
        self.records = records
        self.max_timeout_seconds = max_timeout_seconds
        self.description = description
        self._clock = clock
        build_requirements(network, pay_to, 1)  # refuse a bad address or network at start-up

    @classmethod
    def from_settings(
        cls, settings: Any, facilitator: Facilitator, records: PaymentRecords, **kw: Any
    ) -> PaymentGate:
        """A gate from `tunesmith.config.Settings`; the signature must outlive the job deadline."""
        # A job may take up to job_deadline_seconds before we settle, and clients sign
        # validBefore = now + maxTimeoutSeconds, so the window must cover the deadline.
        window = max(DEFAULT_MAX_TIMEOUT_SECONDS, math.ceil(settings.job_deadline_seconds) + 60)
        kw.setdefault("max_timeout_seconds", window)
        return cls(
            pay_to=settings.pay_to,
            network=settings.network,
            prices=settings.prices_usd,
            facilitator=facilitator,
            records=records,
            **kw,
        )

    # -- the offer ---------------------------------------------------------------------------
    def requirements(self, model: str) -> list[PaymentRequirements]:
        """What paying for one `model` track takes, from the server's price list only."""
        amount = self.prices.atomic(model)
        return [build_requirements(self.network, self.pay_to, amount, self.max_timeout_seconds)]

    def payment_required(
        self, resource_url: str, model: str, error: str | None = None
    ) -> PaymentRequired:
        """The v2 PaymentRequired for this route and model."""
        return build_payment_required(
            resource_url, self.requirements(model), description=self.description, error=error
        )

    def challenge(
        self, resource_url: str, model: str, error: str | None = None
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """(402, headers, JSON body) asking for payment; `error` explains a refused one."""
        required = self.payment_required(resource_url, model, error)
        return 402, challenge_headers(required), challenge_body(required, model)

    # -- the payment -------------------------------------------------------------------------
    def accept(
        self,
        headers: Mapping[str, str],
        resource_url: str,
        model: str,
        *,
        job_id: str | None = None,
    ) -> Reservation:
        """Verify the request's payment for `model` and reserve it; PaymentError otherwise."""
        raw = find_payment_header(headers)
        if raw is None:
            raise PaymentError(errors.PAYMENT_REQUIRED, "this request needs an x402 payment")
        try:
            payment = decode_payment_payload(raw)
        except HeaderDecodeError as exc:
            raise PaymentError(errors.INVALID_PAYLOAD, str(exc)) from exc
        payload, requirement = normalize(payment, self.requirements(model))
        verdict = check_authorization(payload, requirement, int(self._clock()))
        if not verdict.is_valid:
            code = verdict.invalid_reason or errors.INVALID_PAYLOAD
            raise PaymentError(code, verdict.invalid_message or "the payment is invalid")
        auth = payload.payload.authorization
        # Cheap early refusal of a replay before asking the facilitator; reserve() decides.
        if self.records.is_taken(auth.from_, auth.nonce):
            raise PaymentError(errors.NONCE_ALREADY_USED, "this payment was already used")
        self._facilitator_verify(payload, requirement)
        return self.records.reserve(
            payload, requirement, resource=resource_url, model=model, job_id=job_id
        )

    def _facilitator_verify(
        self, payload: PaymentPayload, requirement: PaymentRequirements
    ) -> None:
        verdict = self.facilitator.verify(payload, requirement)
        if not verdict.is_valid:
            raise PaymentError(
                verdict.invalid_reason or errors.INVALID_PAYLOAD,
                verdict.invalid_message or "the facilitator refused the payment",
            )

    def attach_job(self, reservation: Reservation, job_id: str) -> Reservation:
        """Record the job a reservation pays for (when the job is created after `accept`)."""
        return self.records.attach_job(reservation.id, job_id)

    def settle(self, reservation: Reservation) -> dict[str, str]:
        """Charge a reservation after the work succeeded; returns the success headers."""
        current = self.records.get(reservation.id)
        if current.status == SETTLED and current.tx_hash:
            return self._receipt_headers(self._settled_response(current))
        current = self.records.begin_settle(reservation.id)
        # An exception here (facilitator unreachable, timeout) leaves the record `settling`:
        # the transfer may or may not have happened, so reconciliation decides, not us.
        result = self.facilitator.settle(current.payload(), current.requirements())
        if not result.success or not result.transaction:
            reason = result.error_reason or errors.UNEXPECTED_SETTLE_ERROR
            self.records.mark_failed(current.id, reason)
            raise PaymentError(reason, result.error_message or "settlement failed")
        self.records.mark_settled(current.id, result.transaction)
        return self._receipt_headers(result)

    def release(self, reservation: Reservation, reason: str) -> Reservation:
        """Drop a reservation whose work failed or was cancelled: it is never charged."""
        return self.records.release(reservation.id, reason)

    @staticmethod
    def _settled_response(record: Reservation) -> SettleResponse:
        return SettleResponse(
            success=True,
            transaction=record.tx_hash or "",
            network=record.network,
            payer=record.payer,
            amount=str(record.amount),
        )

    @staticmethod
    def _receipt_headers(result: SettleResponse) -> dict[str, str]:
        value = encode_json_header(result)
        return {
            RESPONSE_HEADER: value,
            RESPONSE_HEADER_V1: value,
            RECEIPT_HEADER: result.transaction,
        }
