"""Paying from the SDK: a PaymentHandler that signs x402 payments with a local wallet.

    >>> payer = pay_with(Wallet.from_settings(settings), SpendPolicy.from_settings(settings))
    >>> Client(url, pay=payer).generate("chill lo-fi")   # pays on 402, within the caps

The policy records a spend before signing (so two processes cannot both spend the last of a
cap); the clients call ``refund`` when the server answers the paid request with an error or
the paid job fails, because then nothing was charged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import httpx

from tunesmith.client.errors import SpendCapExceeded
from tunesmith.payments import (
    HeaderDecodeError,
    SpendPolicy,
    Wallet,
    create_payment,
    decode_payment_payload,
    decode_payment_required,
    find_payment_header,
)
from tunesmith.payments import SpendCapExceeded as PolicyCapExceeded

PAYMENT_HEADER = "PAYMENT-SIGNATURE"
Clock = Callable[[], float]


class WalletPayer:
    """Answers a 402 with a signed PAYMENT-SIGNATURE header, within a spend policy."""

    def __init__(self, wallet: Wallet, policy: SpendPolicy | None = None,
                 clock: Clock = time.time):
        self.wallet, self.policy, self.clock = wallet, policy, clock

    def __call__(self, response: httpx.Response) -> dict[str, str] | None:
        challenge = response.headers.get("PAYMENT-REQUIRED")
        if not challenge:
            return None  # not an x402 challenge we can answer
        try:
            required = decode_payment_required(challenge)
        except HeaderDecodeError:
            return None
        try:
            signed = create_payment(required, self.wallet, int(self.clock()), policy=self.policy)
        except PolicyCapExceeded as exc:
            raise SpendCapExceeded(f"not paying: {exc}") from exc
        return {PAYMENT_HEADER: signed.header}

    def refund(self, headers: Mapping[str, str]) -> None:
        """Give a payment that was not charged back to the spend policy."""
        raw = find_payment_header(headers)
        if self.policy is None or raw is None:
            return
        try:
            nonce = decode_payment_payload(raw).payload.authorization.nonce
        except HeaderDecodeError:
            return
        self.policy.refund(nonce)


def pay_with(wallet: Wallet, policy: SpendPolicy | None = None,
             clock: Clock = time.time) -> WalletPayer:
    """A payment handler for ``Client(..., pay=...)`` / ``AsyncClient(..., pay=...)``."""
    return WalletPayer(wallet, policy, clock)
