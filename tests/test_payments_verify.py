"""Server-side verification through PaymentGate + LedgerFacilitator: every refusal code."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.support.payments import (
    MODEL,
    OTHER,
    OTHER_KEY,
    PAY_TO,
    PAYER,
    PAYER_KEY,
    RESOURCE,
    T0,
    Stack,
    make_stack,
)
from tunesmith.payments import PaymentError, Wallet, create_payment, eip3009, encode_json_header
from tunesmith.payments import errors as codes
from tunesmith.payments.models import Authorization
from tunesmith.payments.networks import BASE


@pytest.fixture
def stack(tmp_path) -> Stack:
    return make_stack(tmp_path)


def signed(stack: Stack, now: float = T0, model: str = MODEL) -> dict[str, Any]:
    header = create_payment(stack.challenge(model), stack.payer, int(now)).header
    return json.loads(base64.b64decode(header))


def resign(
    data: dict[str, Any], key: str = PAYER_KEY, domain: dict | None = None
) -> dict[str, Any]:
    auth = Authorization.model_validate(data["payload"]["authorization"])
    data["payload"]["signature"] = eip3009.sign(auth, key, BASE, domain=domain)
    return data


def refused(stack: Stack, data: dict[str, Any] | str, header: str = "PAYMENT-SIGNATURE") -> str:
    value = data if isinstance(data, str) else encode_json_header(data)
    with pytest.raises(PaymentError) as caught:
        stack.gate.accept({header: value}, RESOURCE, MODEL)
    assert caught.value.status == 402
    return caught.value.code


def test_valid_payment_is_accepted(stack: Stack) -> None:
    reservation = stack.gate.accept(
        {"PAYMENT-SIGNATURE": encode_json_header(signed(stack))}, RESOURCE, MODEL
    )
    assert (reservation.payer, reservation.amount, reservation.status) == (
        PAYER,
        157500,
        "reserved",
    )


def test_missing_and_garbage_headers(stack: Stack) -> None:
    with pytest.raises(PaymentError) as caught:
        stack.gate.accept({}, RESOURCE, MODEL)
    assert caught.value.code == codes.PAYMENT_REQUIRED
    assert refused(stack, "not base64 at all!") == codes.INVALID_PAYLOAD
    assert refused(stack, base64.b64encode(b'{"x402Version":2}').decode()) == codes.INVALID_PAYLOAD


def test_tampered_amount_is_refused(stack: Stack) -> None:
    data = signed(stack)
    data["payload"]["authorization"]["value"] = "1"
    assert refused(stack, data) == codes.VALUE_MISMATCH
    # Lowering the price everywhere and re-signing is still not the server's price.
    data["accepted"]["amount"] = "1"
    assert refused(stack, resign(data)) == codes.VALUE_MISMATCH
    # Paying more than asked is refused too: the scheme is exact.
    data = signed(stack)
    data["payload"]["authorization"]["value"] = "157501"
    assert refused(stack, resign(data)) == codes.VALUE_MISMATCH


def test_payment_for_a_cheaper_model_does_not_buy_an_expensive_one(stack: Stack) -> None:
    assert refused(stack, signed(stack, model="tunesmith/composer-1")) == codes.VALUE_MISMATCH


def test_tampered_value_with_old_signature_fails_the_signature(stack: Stack) -> None:
    data = signed(stack)
    data["payload"]["authorization"]["validBefore"] = str(int(T0) + 10_000)
    assert refused(stack, data) == codes.INVALID_SIGNATURE


def test_recipient_mismatch(stack: Stack) -> None:
    data = signed(stack)
    data["payload"]["authorization"]["to"] = OTHER
    assert refused(stack, resign(data)) == codes.RECIPIENT_MISMATCH
    data["accepted"]["payTo"] = OTHER
    assert refused(stack, data) == codes.RECIPIENT_MISMATCH


def test_recipient_compare_ignores_checksum_case(stack: Stack) -> None:
    data = signed(stack)
    data["payload"]["authorization"]["to"] = PAY_TO.lower()
    data["accepted"]["payTo"] = PAY_TO.lower()
    assert stack.gate.accept({"X-Payment": encode_json_header(resign(data))}, RESOURCE, MODEL)


def test_wrong_domain_name_is_an_invalid_signature(stack: Stack) -> None:
    data = resign(signed(stack), domain={**BASE.eip712_domain(), "name": "USDC"})
    assert refused(stack, data) == codes.INVALID_SIGNATURE


def test_someone_elses_signature_is_refused(stack: Stack) -> None:
    assert refused(stack, resign(signed(stack), key=OTHER_KEY)) == codes.INVALID_SIGNATURE
    data = signed(stack)
    data["payload"]["signature"] = "0x" + "ab" * 65
    assert refused(stack, data) == codes.INVALID_SIGNATURE


def test_expiry_window(stack: Stack) -> None:
    # Signed 1000 s ago with a 300 s window: expired.
    assert refused(stack, signed(stack, now=T0 - 1000)) == codes.VALID_BEFORE
    # Signed by a clock 1000 s ahead: validAfter (its now - 600) is still in our future.
    assert refused(stack, signed(stack, now=T0 + 1000)) == codes.VALID_AFTER


def test_valid_before_needs_six_seconds_of_margin(stack: Stack) -> None:
    data = signed(stack)
    valid_before = int(data["payload"]["authorization"]["validBefore"])
    stack.clock.now = valid_before - 5
    assert refused(stack, data) == codes.VALID_BEFORE
    stack.clock.now = valid_before - 6
    assert stack.gate.accept({"PAYMENT-SIGNATURE": encode_json_header(data)}, RESOURCE, MODEL)


def test_wrong_network_and_asset(stack: Stack) -> None:
    data = signed(stack)
    data["accepted"]["network"] = "eip155:84532"
    assert refused(stack, data) == codes.INVALID_NETWORK
    data = signed(stack)
    data["accepted"]["asset"] = "0x036CbD53842c5426634e7929541eC2318f3dCF7e"
    assert refused(stack, data) == codes.INVALID_NETWORK
    v1 = {
        "x402Version": 1,
        "scheme": "exact",
        "network": "base-sepolia",
        "payload": signed(stack)["payload"],
    }
    assert refused(stack, v1, header="X-PAYMENT") == codes.INVALID_NETWORK


def test_unsupported_version_and_scheme(stack: Stack) -> None:
    data = signed(stack)
    data["x402Version"] = 3
    assert refused(stack, data) == codes.INVALID_X402_VERSION
    data = signed(stack)
    data["accepted"]["scheme"] = "upto"
    assert refused(stack, data) == codes.INVALID_SCHEME


def test_accepted_must_copy_the_offer(stack: Stack) -> None:
    data = signed(stack)
    data["accepted"]["maxTimeoutSeconds"] = 999_999
    assert refused(stack, data) == codes.INVALID_PAYLOAD
    data = signed(stack)
    data["accepted"]["extra"] = {"name": "USDC", "version": "2"}
    assert refused(stack, data) == codes.INVALID_PAYLOAD


def test_insufficient_balance(tmp_path) -> None:
    stack = make_stack(tmp_path, fund_usd="0.15")
    assert refused(stack, signed(stack)) == codes.INSUFFICIENT_FUNDS
    assert stack.records.list() == []


def test_unfunded_payer_is_refused(stack: Stack) -> None:
    stranger = Wallet.from_key(OTHER_KEY)
    header = create_payment(stack.challenge(), stranger, int(T0)).header
    assert refused(stack, header) == codes.INSUFFICIENT_FUNDS


def test_v1_payment_via_x_payment_is_accepted(stack: Stack) -> None:
    data = signed(stack)
    v1 = {"x402Version": 1, "scheme": "exact", "network": "base", "payload": data["payload"]}
    reservation = stack.gate.accept({"x-payment": encode_json_header(v1)}, RESOURCE, MODEL)
    assert reservation.amount == 157500
    stack.gate.settle(reservation)
    assert stack.ledger.balance_atomic(PAY_TO) == 157500
