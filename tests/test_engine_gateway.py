"""The vendor gateway engine through our public API, against a fake paid gateway on loopback.

Our server pays the fake with its wallet (x402 v2, checked by a local ledger), follows the
fake's 202 jobs, stores the track and serves it from our own link; failures are mapped and the
wallet is charged only for tracks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_settings
from tests.support.fake_upstreams import (
    AUTO_LYRICS, TRACK_SECONDS, FakeGateway, GatewayReply, make_track, running,
)
from tests.support.payments import PAY_TO, PAYER, PAYER_KEY
from tests.support.server import running_server

MODEL = "minimax/music-2.5+"
PRICE_ATOMIC = 157500
SONG = "[Verse]\nSunshine in the morning\n[Chorus]\nBrightens up my day"


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeGateway, str]]:
    tmp = tmp_path_factory.mktemp("gateway")
    gateway = FakeGateway(tmp / "state", make_track(tmp / "track.mp3"))
    gateway.ledger.fund(PAYER, "10.00")
    with running(gateway.app()) as url:
        yield gateway, url


@pytest.fixture
def gateway(fake: tuple[FakeGateway, str]) -> Iterator[FakeGateway]:
    fake[0].reset()
    yield fake[0]
    fake[0].reset()


def gateway_settings(tmp: Path, fake_url: str, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "gateway_url": f"{fake_url}/api", "wallet_key": PAYER_KEY,
        "wallet_file": tmp / "wallet" / "wallet.key", "gateway_poll_seconds": 0.1,
        "upstream_timeout_seconds": 10.0, **overrides}
    return make_settings(tmp / "data", **values)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory,
        fake: tuple[FakeGateway, str]) -> Iterator[str]:
    settings = gateway_settings(tmp_path_factory.mktemp("ours"), fake[1])
    with running_server(settings) as base:
        yield base


class Wallet:
    """The payer's balance at the gateway before an action, to see what moved."""

    def __init__(self, gateway: FakeGateway):
        self.gateway, self.before = gateway, gateway.ledger.balance_atomic(PAYER)

    def paid(self) -> int:
        return self.before - self.gateway.ledger.balance_atomic(PAYER)


def generate(url: str, headers: dict[str, str] | None = None, **fields: Any) -> httpx.Response:
    body = {"model": MODEL, "prompt": "epic orchestral film score, dramatic strings", **fields}
    return httpx.post(f"{url}/v1/audio/generations", json=body, headers=headers, timeout=60)


def assert_our_track(url: str, response: httpx.Response, gateway: FakeGateway) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    item: dict[str, Any] = response.json()["data"][0]
    assert item["url"].startswith(f"{url}/v1/files/")
    assert httpx.get(item["url"], timeout=10).content == gateway.track
    # The gateway claims 186 s; we report what the stored file measures.
    assert item["duration_seconds"] == round(TRACK_SECONDS)
    return item


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert PAYER_KEY not in response.text
    return error


def test_a_sync_answer_is_paid_once_stored_and_measured(url: str, gateway: FakeGateway) -> None:
    wallet = Wallet(gateway)
    item = assert_our_track(url, generate(url, lyrics=SONG, duration_seconds=60), gateway)
    assert item["lyrics"] == SONG
    assert wallet.paid() == PRICE_ATOMIC
    unpaid, paid = gateway.posts
    assert "payment-signature" not in unpaid["headers"]
    assert paid["headers"]["payment-signature"]
    assert paid["headers"]["idempotency-key"] == unpaid["headers"]["idempotency-key"]
    assert paid["body"] == {"model": MODEL, "prompt": "epic orchestral film score, dramatic "
                            "strings", "instrumental": False, "lyrics": SONG,
                            "duration_seconds": 60}
    transfers = gateway.ledger.transfers(PAYER)
    assert transfers and transfers[0]["pay_to"] == PAY_TO


def test_a_202_job_is_polled_to_the_end_and_paid_once(url: str, gateway: FakeGateway) -> None:
    gateway.replies.append(GatewayReply(kind="async", polls=3))
    wallet = Wallet(gateway)
    item = assert_our_track(url, generate(url), gateway)
    assert item["lyrics"] == AUTO_LYRICS  # written upstream and carried through
    assert wallet.paid() == PRICE_ATOMIC


@pytest.mark.parametrize(("error_type", "status", "code"), [
    ("invalid_request_error", 400, "invalid_request"),
    ("rate_limit_error", 429, "rate_limited"),
    ("server_error", 502, "upstream_error"),
])
def test_a_failed_gateway_job_is_mapped_and_not_charged(
        url: str, gateway: FakeGateway, error_type: str, status: int, code: str) -> None:
    gateway.replies.append(GatewayReply(kind="fail", error_type=error_type,
                                        message="the prompt was flagged"))
    wallet = Wallet(gateway)
    error = assert_error(generate(url), status, code)
    assert ("flagged" in error["message"]) == (status == 400)
    assert wallet.paid() == 0


def test_a_gateway_rate_limit_is_retried_then_passed_on_with_retry_after(
        url: str, gateway: FakeGateway) -> None:
    gateway.replies.extend(GatewayReply(http_status=429, retry_after="1") for _ in range(3))
    wallet = Wallet(gateway)
    response = generate(url)
    assert_error(response, 429, "rate_limited")
    assert response.headers["Retry-After"] == "1"
    assert len(gateway.posts) == 3 and wallet.paid() == 0


def test_a_refused_request_is_a_400_with_the_gateways_reason(
        url: str, gateway: FakeGateway) -> None:
    gateway.replies.append(GatewayReply(http_status=400, error_type="invalid_request_error",
                                        message="lyrics cannot be combined with instrumental"))
    error = assert_error(generate(url), 400, "invalid_request")
    assert "lyrics cannot be combined" in error["message"]


def test_canceling_our_job_cancels_the_gateways_and_nothing_is_charged(
        url: str, gateway: FakeGateway) -> None:
    gateway.replies.append(GatewayReply(kind="async", polls=10_000))
    wallet = Wallet(gateway)
    job = generate(url, headers={"Prefer": "respond-async"}).json()
    until = time.monotonic() + 20
    while not httpx.get(job["poll_url"]).json()["stage"].startswith("upstream"):
        assert time.monotonic() < until
        time.sleep(0.05)
    assert httpx.delete(job["poll_url"]).json()["status"] == "canceled"
    while not gateway.canceled:
        assert time.monotonic() < until
        time.sleep(0.05)
    assert wallet.paid() == 0


def test_the_spend_cap_stops_payment_with_a_503(tmp_path: Path,
                                               fake: tuple[FakeGateway, str],
                                               gateway: FakeGateway) -> None:
    settings = gateway_settings(tmp_path, fake[1], max_usd_per_request=0.10, workers=1)
    wallet = Wallet(gateway)
    with running_server(settings) as url:
        error = assert_error(generate(url), 503, "upstream_unavailable")
    assert "pay" in error["message"] and wallet.paid() == 0


def test_without_a_wallet_the_gateway_models_say_what_to_set(
        tmp_path: Path, fake: tuple[FakeGateway, str]) -> None:
    settings = gateway_settings(tmp_path, fake[1], wallet_key=None, fallback_model="")
    with running_server(settings, workers=False) as url:
        listed = {m["id"]: m for m in httpx.get(f"{url}/v1/models").json()["data"]}
        assert listed[MODEL]["available"] is False
        assert "TUNESMITH_WALLET_KEY" in listed[MODEL]["unavailable_reason"]
        response = generate(url)
        assert response.status_code == 503
        assert "wallet" in response.json()["error"]["message"]
