"""LedgerFacilitator rules and HttpFacilitator wire format (over an in-process transport)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support.payments import MODEL, PAY_TO, PAYER, T0, make_stack
from tunesmith.payments import (
    Facilitator,
    FacilitatorUnavailable,
    HttpFacilitator,
    LedgerFacilitator,
    PaymentPayload,
    PaymentRequirements,
    create_payment,
)
from tunesmith.payments import errors as codes
from tunesmith.payments.ledger import fake_tx_hash
from tunesmith.payments.verify import normalize


def payment(stack):
    signed = create_payment(stack.challenge(), stack.payer, int(T0))
    return normalize(signed.payload, stack.gate.requirements(MODEL))


def test_fund_and_balance(tmp_path) -> None:
    ledger = LedgerFacilitator(f"sqlite:///{tmp_path / 'l.db'}")
    assert ledger.balance_atomic(PAYER) == 0
    assert ledger.fund(PAYER.lower(), "0.25") == 250000
    assert ledger.fund(PAYER, 0.1575) == 407500
    assert str(ledger.balance(PAYER)) == "0.4075"
    assert ledger.balance_atomic(PAYER, "eip155:84532") == 0
    with pytest.raises(ValueError):
        ledger.fund("0x1234", 1)


def test_settle_twice_is_a_used_nonce_and_moves_once(tmp_path) -> None:
    stack = make_stack(tmp_path)
    payload, requirement = payment(stack)
    assert stack.ledger.verify(payload, requirement).is_valid
    first = stack.ledger.settle(payload, requirement)
    assert first.success and first.transaction == fake_tx_hash(
        payload.payload.authorization, "eip155:8453"
    )
    assert not stack.ledger.verify(payload, requirement).is_valid
    second = stack.ledger.settle(payload, requirement)
    assert (second.success, second.error_reason) == (False, codes.NONCE_ALREADY_USED)
    assert stack.ledger.balance_atomic(PAY_TO) == 157500


def test_failed_settlement_rolls_back_the_nonce(tmp_path) -> None:
    stack = make_stack(tmp_path, fund_usd="0.10")
    payload, requirement = payment(stack)
    result = stack.ledger.settle(payload, requirement)
    assert (result.success, result.error_reason) == (False, codes.INSUFFICIENT_FUNDS)
    stack.ledger.fund(PAYER, "0.10")
    assert stack.ledger.settle(payload, requirement).success  # nonce was not burnt
    assert stack.ledger.balance_atomic(PAYER) == 200000 - 157500


def test_supported_lists_both_networks_and_versions(tmp_path) -> None:
    kinds = {(k.x402_version, k.network) for k in make_stack(tmp_path).ledger.supported().kinds}
    assert kinds == {(2, "eip155:8453"), (1, "base"), (2, "eip155:84532"), (1, "base-sepolia")}


def ledger_app(
    ledger: LedgerFacilitator, token: str, seen: list[httpx.Request]
) -> httpx.MockTransport:
    """A facilitator HTTP server in-process, answering from the ledger."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("authorization") != f"Bearer {token}":
            return httpx.Response(401, json={"error": "unauthorized"})
        if request.url.path == "/fac/supported":
            return httpx.Response(200, json=ledger.supported().to_wire())
        body = json.loads(request.content)
        payload = PaymentPayload.model_validate(body["paymentPayload"])
        requirement = PaymentRequirements.model_validate(body["paymentRequirements"])
        if request.url.path == "/fac/verify":
            verdict = ledger.verify(payload, requirement)
            return httpx.Response(200 if verdict.is_valid else 400, json=verdict.to_wire())
        return httpx.Response(200, json=ledger.settle(payload, requirement).to_wire())

    return httpx.MockTransport(handle)


def test_http_facilitator_speaks_the_wire_format(tmp_path) -> None:
    stack = make_stack(tmp_path)
    seen: list[httpx.Request] = []
    remote = HttpFacilitator(
        "https://fac.example/fac/", "s3cret", transport=ledger_app(stack.ledger, "s3cret", seen)
    )
    assert isinstance(remote, Facilitator)
    payload, requirement = payment(stack)
    assert remote.verify(payload, requirement).is_valid
    body = json.loads(seen[-1].content)
    assert set(body) == {"x402Version", "paymentPayload", "paymentRequirements"}
    assert body["paymentPayload"]["payload"]["authorization"]["from"] == PAYER
    assert body["paymentRequirements"]["payTo"] == PAY_TO
    settled = remote.settle(payload, requirement)
    assert settled.success and stack.ledger.balance_atomic(PAY_TO) == 157500
    refused = remote.verify(payload, requirement)  # a 400 with a VerifyResponse body
    assert (refused.is_valid, refused.invalid_reason) == (False, codes.NONCE_ALREADY_USED)
    assert len(remote.supported().kinds) == 4
    assert seen[-1].method == "GET" and seen[-1].url.path == "/fac/supported"


def test_http_facilitator_failures_are_502(tmp_path) -> None:
    stack = make_stack(tmp_path)
    payload, requirement = payment(stack)
    bad_token = HttpFacilitator(
        "https://fac.example/fac", "wrong", transport=ledger_app(stack.ledger, "s3cret", [])
    )
    with pytest.raises(FacilitatorUnavailable) as caught:
        bad_token.verify(payload, requirement)
    assert caught.value.status == 502

    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    down = HttpFacilitator("https://fac.example", transport=httpx.MockTransport(boom))
    with pytest.raises(FacilitatorUnavailable) as caught:
        down.settle(payload, requirement)
    assert caught.value.code == codes.UNEXPECTED_SETTLE_ERROR


def test_gate_over_http_facilitator_leaves_unknown_settlements_settling(tmp_path) -> None:
    stack = make_stack(tmp_path)

    def boom(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/settle"):
            raise httpx.ReadTimeout("no answer", request=request)
        return httpx.Response(200, json={"isValid": True, "payer": PAYER})

    stack.gate.facilitator = HttpFacilitator(
        "https://fac.example", transport=httpx.MockTransport(boom)
    )
    signed = create_payment(stack.challenge(), stack.payer, int(T0))
    reservation = stack.gate.accept({"PAYMENT-SIGNATURE": signed.header}, "r", MODEL)
    with pytest.raises(FacilitatorUnavailable):
        stack.gate.settle(reservation)
    assert stack.records.get(reservation.id).status == "settling"
