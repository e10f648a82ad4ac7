"""A paying server on loopback: 402 challenges, one charge per track, none for failures."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from tests.support.paid import (
    OTHER_KEY,
    PAY_TO,
    PAYER,
    PRICE_ATOMIC,
    ledger_of,
    paid_settings,
    payment_for,
    records_of,
)
from tests.support.payments import PAYER_KEY
from tests.support.server import FakeClock, running_server
from tunesmith.config import Settings
from tunesmith.payments import LedgerFacilitator, PaymentRecords, decode_settle_response
from tunesmith.payments import errors as codes

CLOCK = FakeClock()
BODY = {"prompt": "paid synthwave", "instrumental": True, "duration_seconds": 5}


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return paid_settings(tmp_path_factory.mktemp("paid"))


@pytest.fixture(scope="module")
def ledger(settings: Settings) -> LedgerFacilitator:
    ledger = ledger_of(settings)
    ledger.fund(PAYER, "1.00")
    return ledger


@pytest.fixture(scope="module")
def records(settings: Settings, url: str) -> PaymentRecords:
    return records_of(settings)


@pytest.fixture(scope="module")
def url(settings: Settings, ledger: LedgerFacilitator) -> Iterator[str]:
    with running_server(settings, clock=CLOCK) as base:
        yield base


class Balances:
    """Payer and payee balances before an action, to assert exactly what moved."""

    def __init__(self, ledger: LedgerFacilitator):
        self.ledger = ledger
        self.payer, self.payee = ledger.balance_atomic(PAYER), ledger.balance_atomic(PAY_TO)

    def moved(self) -> int:
        paid = self.payer - self.ledger.balance_atomic(PAYER)
        received = self.ledger.balance_atomic(PAY_TO) - self.payee
        assert paid == received
        return paid


def post(url: str, body: dict[str, Any] | None = None, prefix: str = "",
         **headers: str) -> httpx.Response:
    return httpx.post(f"{url}{prefix}/v1/audio/generations", json=body or BODY,
                      headers=headers, timeout=60)


def paid_post(url: str, body: dict[str, Any] | None = None, key: str = PAYER_KEY,
              **headers: str) -> tuple[httpx.Response, str]:
    challenge = post(url, body)
    assert challenge.status_code == 402, challenge.text
    payment = payment_for(challenge, key)
    return post(url, body, **{"PAYMENT-SIGNATURE": payment, **headers}), payment


def wait_released(records: PaymentRecords, job_id: str, timeout: float = 10) -> str:
    until = time.monotonic() + timeout
    status = ""
    while time.monotonic() < until:
        found = records.by_job(job_id)
        status = found[0].status if found else "missing"
        if status == "released":
            return status
        time.sleep(0.05)
    return status


@pytest.mark.parametrize("prefix", ["", "/api"])
def test_unpaid_request_gets_a_402_challenge_with_the_price(url: str, prefix: str) -> None:
    r = post(url, prefix=prefix)
    assert r.status_code == 402
    value = r.headers["PAYMENT-REQUIRED"]
    assert r.headers["X-Payment-Required"] == value
    assert r.headers["WWW-Authenticate"] == f'X402 requirements="{value}"'
    assert r.headers["Cache-Control"] == "no-store"
    required = json.loads(base64.b64decode(value))
    assert required["x402Version"] == 2
    assert required["resource"]["url"].endswith(f"{prefix}/v1/audio/generations")
    offer = required["accepts"][0]
    assert offer["amount"] == str(PRICE_ATOMIC) and offer["payTo"] == PAY_TO
    body = r.json()
    assert body["price"]["usd"] == "0.02" and body["price"]["model"] == "test/staged"
    assert body["error"]["code"] == "payment_required"
    assert body["error"]["type"] == "payment_required" and "$0.02" in body["error"]["message"]


def test_the_price_comes_from_the_server_not_the_client(url: str) -> None:
    r = post(url, {**BODY, "price": 0, "amount": "1"}, **{"X-Price": "0"})
    assert json.loads(base64.b64decode(r.headers["PAYMENT-REQUIRED"]))["accepts"][0][
        "amount"] == str(PRICE_ATOMIC)


@pytest.mark.parametrize("body", [{"prompt": ""}, {"prompt": "x", "duration_seconds": 2},
                                  {"prompt": "x", "model": "nope/none"}])
def test_invalid_requests_get_400_before_any_payment(url: str, body: dict[str, Any]) -> None:
    r = post(url, body)
    assert r.status_code == 400 and "PAYMENT-REQUIRED" not in r.headers


def test_models_stay_free(url: str) -> None:
    for path in ("/v1/models", "/v1/audio/models", "/api/v1/audio/models"):
        assert httpx.get(f"{url}{path}").status_code == 200


def test_a_valid_payment_buys_one_track_and_moves_exactly_the_price(
        url: str, ledger: LedgerFacilitator, records: PaymentRecords) -> None:
    before = Balances(ledger)
    r, _ = paid_post(url)
    assert r.status_code == 200, r.text
    receipt = decode_settle_response(r.headers["PAYMENT-RESPONSE"])
    assert receipt.success and receipt.transaction == r.headers["X-Payment-Receipt"]
    assert receipt.payer == PAYER
    assert before.moved() == PRICE_ATOMIC
    track = r.json()["data"][0]
    assert httpx.get(track["url"]).status_code == 200  # downloads stay free
    [record] = records.by_job(r.json()["id"])
    assert record.status == "settled" and record.tx_hash == receipt.transaction
    assert record.amount == PRICE_ATOMIC and record.payer == PAYER


def test_a_replayed_payment_is_refused(url: str, ledger: LedgerFacilitator) -> None:
    r, payment = paid_post(url)
    assert r.status_code == 200
    before = Balances(ledger)
    again = post(url, **{"X-Payment": payment})
    assert again.status_code == 402
    assert again.json()["error"]["code"] == codes.NONCE_ALREADY_USED
    assert "PAYMENT-REQUIRED" in again.headers
    assert before.moved() == 0


def test_concurrent_copies_of_one_payment_buy_one_track(
        url: str, ledger: LedgerFacilitator) -> None:
    payment = payment_for(post(url))
    before = Balances(ledger)
    answers: list[httpx.Response] = []
    start = threading.Barrier(8)

    def send() -> None:
        start.wait()
        answers.append(post(url, **{"PAYMENT-SIGNATURE": payment}))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [402] * 7, statuses
    assert before.moved() == PRICE_ATOMIC


def test_insufficient_balance_is_refused(url: str, ledger: LedgerFacilitator) -> None:
    before = Balances(ledger)
    r = post(url)
    refused = post(url, **{"PAYMENT-SIGNATURE": payment_for(r, OTHER_KEY)})
    assert refused.status_code == 402
    assert refused.json()["error"]["code"] == codes.INSUFFICIENT_FUNDS
    assert before.moved() == 0


def test_a_tampered_amount_is_refused(url: str, ledger: LedgerFacilitator) -> None:
    before = Balances(ledger)
    data = json.loads(base64.b64decode(payment_for(post(url))))
    data["payload"]["authorization"]["value"] = "1"
    data["accepted"]["amount"] = "1"
    tampered = base64.b64encode(json.dumps(data).encode()).decode()
    refused = post(url, **{"PAYMENT-SIGNATURE": tampered})
    assert refused.status_code == 402
    assert refused.json()["error"]["code"] == codes.VALUE_MISMATCH
    assert before.moved() == 0


def test_a_failed_generation_is_not_charged(url: str, ledger: LedgerFacilitator,
                                            records: PaymentRecords) -> None:
    before = Balances(ledger)
    r, _ = paid_post(url, {"prompt": "please fail", "duration_seconds": 5})
    assert r.status_code == 500
    assert "PAYMENT-RESPONSE" not in r.headers
    assert wait_released(records, r.json()["error"]["job_id"]) == "released"
    assert before.moved() == 0


def test_a_canceled_job_is_not_charged_and_polls_belong_to_the_payer(
        url: str, ledger: LedgerFacilitator, records: PaymentRecords) -> None:
    before = Balances(ledger)
    body = {"prompt": "slow stages=40 sleep=0.1", "duration_seconds": 5}
    r, payment = paid_post(url, body, Prefer="respond-async")
    assert r.status_code == 202, r.text
    poll = r.json()["poll_url"]
    other = payment_for(post(url), OTHER_KEY)
    assert httpx.get(poll).status_code == 403
    assert httpx.get(poll, headers={"PAYMENT-SIGNATURE": other}).status_code == 403
    assert httpx.delete(poll, headers={"PAYMENT-SIGNATURE": other}).status_code == 403
    assert httpx.get(poll, headers={"PAYMENT-SIGNATURE": payment}).status_code == 200
    canceled = httpx.delete(poll, headers={"X-Payment": payment})
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert wait_released(records, r.json()["id"]) == "released"
    time.sleep(0.3)
    assert before.moved() == 0


def test_a_polled_job_is_settled_once_and_shows_the_receipt(
        url: str, ledger: LedgerFacilitator) -> None:
    before = Balances(ledger)
    body = {"prompt": "async stages=4 sleep=0.1", "duration_seconds": 5}
    r, payment = paid_post(url, body, Prefer="respond-async")
    assert r.status_code == 202
    job_id, poll = r.json()["id"], r.json()["poll_url"]
    proof = Account.sign_message(encode_defunct(text=f"tunesmith-job:{job_id}"),
                                 PAYER_KEY).signature.hex()
    until = time.monotonic() + 20
    while True:
        state = httpx.get(poll, headers={"X-Payer-Signature": "0x" + proof.removeprefix("0x")})
        assert state.status_code == 200
        if state.json()["status"] == "completed" or time.monotonic() > until:
            break
        assert "data" not in state.json()
        time.sleep(0.1)
    assert state.json()["data"][0]["url"]
    assert state.headers["X-Payment-Receipt"].startswith("0x")
    again = httpx.get(poll, headers={"PAYMENT-SIGNATURE": payment})
    assert again.headers["X-Payment-Receipt"] == state.headers["X-Payment-Receipt"]
    assert before.moved() == PRICE_ATOMIC


def test_a_retry_with_the_same_idempotency_key_is_not_charged_twice(
        url: str, ledger: LedgerFacilitator) -> None:
    before = Balances(ledger)
    key = "retry-" + str(time.time())
    first, payment = paid_post(url, **{"Idempotency-Key": key})
    assert first.status_code == 200
    again = post(url, **{"Idempotency-Key": key, "PAYMENT-SIGNATURE": payment})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    fresh = payment_for(post(url))  # a new signature by the same payer proves it too
    third = post(url, **{"Idempotency-Key": key, "PAYMENT-SIGNATURE": fresh})
    assert third.status_code == 200 and third.json()["id"] == first.json()["id"]
    assert post(url, **{"Idempotency-Key": key}).status_code == 402
    other = payment_for(post(url), OTHER_KEY)
    assert post(url, **{"Idempotency-Key": key, "PAYMENT-SIGNATURE": other}).status_code == 403
    assert before.moved() == PRICE_ATOMIC


def test_a_timed_out_job_is_released_by_recovery(tmp_path: Path) -> None:
    clock = FakeClock()
    settings = paid_settings(tmp_path / "data", job_deadline_seconds=30)
    ledger = ledger_of(settings)
    ledger.fund(PAYER, "1.00")
    with running_server(settings, clock=clock) as base:
        records = records_of(settings)
        before = Balances(ledger)
        r, _ = paid_post(base, {"prompt": "slow stages=50 sleep=0.1", "duration_seconds": 5},
                         Prefer="respond-async")
        assert r.status_code == 202
        clock.advance(60)  # past the deadline: the supervisor fails the job with 504
        assert wait_released(records, r.json()["id"]) == "released"
        assert before.moved() == 0
