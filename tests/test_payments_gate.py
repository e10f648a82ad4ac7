"""PaymentGate end to end on the local ledger: challenge, settle, release, replay, races."""

from __future__ import annotations

import base64
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.payments import (
    MODEL,
    PAY_TO,
    PAYER,
    PAYER_KEY,
    RESOURCE,
    T0,
    Stack,
    make_stack,
)
from tunesmith.config import Settings
from tunesmith.payments import (
    HttpFacilitator,
    LedgerFacilitator,
    PaymentError,
    PaymentGate,
    PaymentRecords,
    ReservationStateError,
    Wallet,
    create_payment,
    create_tables,
    decode_settle_response,
    facilitator_from_settings,
    sign_payment,
)
from tunesmith.payments import errors as codes


@pytest.fixture
def stack(tmp_path) -> Stack:
    return make_stack(tmp_path)


def pay(stack: Stack, now: float = T0) -> dict[str, str]:
    return {"PAYMENT-SIGNATURE": sign_payment(stack.challenge(), stack.payer, int(now))}


def test_challenge_headers_and_body(stack: Stack) -> None:
    status, headers, body = stack.gate.challenge(RESOURCE, MODEL)
    value = headers["PAYMENT-REQUIRED"]
    assert status == 402
    assert headers["X-Payment-Required"] == value
    assert headers["WWW-Authenticate"] == f'X402 requirements="{value}"'
    assert headers["Cache-Control"] == "no-store"
    required = json.loads(base64.b64decode(value))
    offer = required["accepts"][0]
    assert required["resource"]["url"] == RESOURCE
    assert offer == {
        "scheme": "exact",
        "network": "eip155:8453",
        "amount": "157500",
        "asset": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
        "payTo": PAY_TO,
        "maxTimeoutSeconds": 300,
        "extra": {"name": "USD Coin", "version": "2"},
    }
    assert body["price"]["usd"] == "0.1575" and body["price"]["amount"] == "157500"
    assert body["x402Version"] == 1
    v1 = body["accepts"][0]
    assert (v1["network"], v1["maxAmountRequired"], v1["resource"]) == ("base", "157500", RESOURCE)


def test_challenge_error_and_unknown_model(stack: Stack) -> None:
    _, headers, body = stack.gate.challenge(RESOURCE, MODEL, error=codes.VALUE_MISMATCH)
    assert (
        json.loads(base64.b64decode(headers["PAYMENT-REQUIRED"]))["error"] == codes.VALUE_MISMATCH
    )
    assert body["error"] == codes.VALUE_MISMATCH
    with pytest.raises(KeyError):
        stack.gate.challenge(RESOURCE, "nobody/unknown")


def test_settle_moves_exactly_the_price(stack: Stack) -> None:
    reservation = stack.gate.accept(pay(stack), RESOURCE, MODEL, job_id="job-1")
    assert stack.ledger.balance_atomic(PAYER) == 1_000_000  # nothing moves before settlement
    headers = stack.gate.settle(reservation)
    assert stack.ledger.balance_atomic(PAYER) == 1_000_000 - 157500
    assert stack.ledger.balance_atomic(PAY_TO) == 157500
    receipt = decode_settle_response(headers["PAYMENT-RESPONSE"])
    assert receipt.success and receipt.payer == PAYER and receipt.network == "eip155:8453"
    assert headers["X-Payment-Receipt"] == receipt.transaction
    assert headers["X-PAYMENT-RESPONSE"] == headers["PAYMENT-RESPONSE"]
    assert receipt.transaction.startswith("0x") and len(receipt.transaction) == 66
    record = stack.records.get(reservation.id)
    assert (record.status, record.tx_hash, record.job_id) == (
        "settled",
        receipt.transaction,
        "job-1",
    )
    assert [t["tx_hash"] for t in stack.ledger.transfers(PAYER)] == [receipt.transaction]


def test_settle_is_idempotent(stack: Stack) -> None:
    reservation = stack.gate.accept(pay(stack), RESOURCE, MODEL)
    first = stack.gate.settle(reservation)
    assert stack.gate.settle(reservation)["X-Payment-Receipt"] == first["X-Payment-Receipt"]
    assert stack.ledger.balance_atomic(PAY_TO) == 157500


def test_release_leaves_balances_untouched(stack: Stack) -> None:
    reservation = stack.gate.accept(pay(stack), RESOURCE, MODEL)
    released = stack.gate.release(reservation, "engine failed")
    assert (released.status, released.reason) == ("released", "engine failed")
    assert stack.ledger.balance_atomic(PAYER) == 1_000_000
    assert stack.ledger.balance_atomic(PAY_TO) == 0
    assert stack.ledger.transfers() == []
    with pytest.raises(ReservationStateError):
        stack.gate.settle(reservation)
    assert stack.ledger.balance_atomic(PAYER) == 1_000_000


def test_settled_payment_cannot_be_released(stack: Stack) -> None:
    reservation = stack.gate.accept(pay(stack), RESOURCE, MODEL)
    stack.gate.settle(reservation)
    with pytest.raises(ReservationStateError):
        stack.gate.release(reservation, "too late")


def test_released_signature_may_pay_for_a_retry(stack: Stack) -> None:
    headers = pay(stack)
    first = stack.gate.accept(headers, RESOURCE, MODEL)
    stack.gate.release(first, "worker died")
    retry = stack.gate.accept(headers, RESOURCE, MODEL)
    assert (retry.id, retry.status, retry.attempts) == (first.id, "reserved", 2)
    stack.gate.settle(retry)
    assert stack.ledger.balance_atomic(PAY_TO) == 157500


def test_sequential_replay_is_refused(stack: Stack) -> None:
    headers = pay(stack)
    reservation = stack.gate.accept(headers, RESOURCE, MODEL)
    with pytest.raises(PaymentError) as held:
        stack.gate.accept(headers, RESOURCE, MODEL)
    assert held.value.code == codes.NONCE_ALREADY_USED
    stack.gate.settle(reservation)
    with pytest.raises(PaymentError) as spent:
        stack.gate.accept(headers, RESOURCE, MODEL)
    assert spent.value.code == codes.NONCE_ALREADY_USED
    assert stack.ledger.balance_atomic(PAY_TO) == 157500


def test_replay_against_a_fresh_server_is_caught_by_the_ledger(stack: Stack, tmp_path) -> None:
    headers = pay(stack)
    stack.gate.settle(stack.gate.accept(headers, RESOURCE, MODEL))
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    fresh = make_stack(other_dir, fund_usd="", clock=stack.clock)
    fresh.gate.facilitator = stack.ledger  # same chain, new server database
    with pytest.raises(PaymentError) as caught:
        fresh.gate.accept(headers, RESOURCE, MODEL)
    assert caught.value.code == codes.NONCE_ALREADY_USED


def test_concurrent_copies_of_one_payment_run_once(stack: Stack) -> None:
    headers, copies = pay(stack), 16
    barrier = threading.Barrier(copies)

    def attempt(_: int) -> str:
        barrier.wait()
        try:
            return stack.gate.accept(headers, RESOURCE, MODEL).id
        except PaymentError as exc:
            return exc.code

    with ThreadPoolExecutor(copies) as pool:
        results = list(pool.map(attempt, range(copies)))
    winners = [r for r in results if r != codes.NONCE_ALREADY_USED]
    assert len(winners) == 1, results
    assert len(stack.records.list()) == 1


def test_concurrent_distinct_payments_all_settle(stack: Stack) -> None:
    payments = [pay(stack) for _ in range(6)]

    def run(headers: dict[str, str]) -> None:
        stack.gate.settle(stack.gate.accept(headers, RESOURCE, MODEL))

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(run, payments))
    assert stack.ledger.balance_atomic(PAY_TO) == 6 * 157500
    assert stack.ledger.balance_atomic(PAYER) == 1_000_000 - 6 * 157500


def test_settlement_refused_after_the_payer_emptied_the_wallet(stack: Stack) -> None:
    first = stack.gate.accept(pay(stack), RESOURCE, MODEL)
    # Six other payments drain the balance while the first job is still running.
    for _ in range(6):
        stack.gate.settle(stack.gate.accept(pay(stack), RESOURCE, MODEL))
    with pytest.raises(PaymentError) as caught:
        stack.gate.settle(first)
    assert caught.value.code == codes.INSUFFICIENT_FUNDS
    assert stack.records.get(first.id).status == "failed"
    assert stack.ledger.balance_atomic(PAYER) == 1_000_000 - 6 * 157500


def test_settlement_after_the_authorization_expired_fails(stack: Stack) -> None:
    reservation = stack.gate.accept(pay(stack), RESOURCE, MODEL)
    stack.clock.advance(400)
    with pytest.raises(PaymentError) as caught:
        stack.gate.settle(reservation)
    assert caught.value.code == codes.VALID_BEFORE
    assert stack.ledger.balance_atomic(PAYER) == 1_000_000


def test_from_settings_covers_the_job_deadline(tmp_path) -> None:
    settings = Settings(
        data_dir=tmp_path, payments_enabled=True, pay_to=PAY_TO, job_deadline_seconds=900
    )
    ledger = LedgerFacilitator(f"sqlite:///{tmp_path / 'l.db'}")
    create_tables(ledger.engine)
    gate = PaymentGate.from_settings(settings, ledger, PaymentRecords(ledger.engine))
    offer = gate.requirements("minimax/music-2.5+")[0]
    assert offer.max_timeout_seconds == 960 and offer.amount == "157500"
    signed = create_payment(
        gate.payment_required(RESOURCE, MODEL), Wallet.from_key(PAYER_KEY), int(T0)
    )
    assert int(signed.payload.payload.authorization.valid_before) == int(T0) + 960


def test_facilitator_from_settings(tmp_path) -> None:
    local = Settings(data_dir=tmp_path, network="eip155:84532")
    ledger = facilitator_from_settings(local)
    assert isinstance(ledger, LedgerFacilitator) and ledger.network == "eip155:84532"
    assert (tmp_path / "ledger.db").exists()
    remote = Settings(
        data_dir=tmp_path, facilitator_url="https://fac.example", facilitator_token="t"
    )
    assert isinstance(facilitator_from_settings(remote), HttpFacilitator)
