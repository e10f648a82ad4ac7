"""The local paying router in front of a paying server, both real servers on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.paid import (
    PAYER,
    PAYER_KEY,
    PRICE_ATOMIC,
    ledger_of,
    paid_settings,
    serving,
)
from tests.support.server import FakeClock, running_server
from tunesmith.config import Settings
from tunesmith.payments import LedgerFacilitator
from tunesmith.router import build_router_app

CLOCK = FakeClock()
BODY = {"model": "test/staged", "prompt": "chill lo-fi hip hop", "instrumental": True,
        "duration_seconds": 5}


@pytest.fixture(scope="module")
def server_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return paid_settings(tmp_path_factory.mktemp("upstream"))


@pytest.fixture(scope="module")
def ledger(server_settings: Settings) -> LedgerFacilitator:
    ledger = ledger_of(server_settings)
    ledger.fund(PAYER, "1.00")
    return ledger


@pytest.fixture(scope="module")
def upstream(server_settings: Settings, ledger: LedgerFacilitator) -> Iterator[str]:
    with running_server(server_settings, clock=CLOCK) as base:
        yield base


def router_settings(tmp_path: Path, upstream: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "router-data", "router_upstream": upstream,
        "wallet_key": PAYER_KEY, "wallet_file": tmp_path / "wallet" / "wallet.key",
        "sync_wait_seconds": 30.0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def router(tmp_path: Path, upstream: str) -> Iterator[str]:
    with serving(build_router_app(router_settings(tmp_path, upstream),
                                  poll_interval=0.1)) as url:
        yield url


def test_a_plain_post_to_the_router_gets_a_paid_track_served_by_the_router(
        router: str, ledger: LedgerFacilitator, tmp_path: Path) -> None:
    before = ledger.balance_atomic(PAYER)
    r = httpx.post(f"{router}/v1/audio/generations", json=BODY, timeout=60)
    assert r.status_code == 200, r.text
    track = r.json()["data"][0]
    assert track["url"].startswith(f"{router}/v1/files/")
    audio = httpx.get(track["url"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
    assert len(audio.content) > 1000
    assert ledger.balance_atomic(PAYER) == before - PRICE_ATOMIC
    tx = r.headers["X-Payment-Receipt"]
    assert tx in {t["tx_hash"] for t in ledger.transfers(PAYER)}
    assert "PAYMENT-RESPONSE" in r.headers
    assert httpx.get(f"{router}/healthz").json()["spent_today_usd"] == "0.02"


def test_the_router_forwards_model_lists_for_free(router: str,
                                                  ledger: LedgerFacilitator) -> None:
    before = ledger.balance_atomic(PAYER)
    for path in ("/v1/models", "/v1/audio/models", "/api/v1/audio/models"):
        r = httpx.get(f"{router}{path}")
        assert r.status_code == 200 and any(m["id"] == "test/staged" for m in r.json()["data"])
    assert ledger.balance_atomic(PAYER) == before


def test_the_router_passes_400s_through_without_paying(router: str,
                                                       ledger: LedgerFacilitator) -> None:
    before = ledger.balance_atomic(PAYER)
    r = httpx.post(f"{router}/v1/audio/generations", json={"prompt": ""}, timeout=60)
    assert r.status_code == 400 and r.json()["error"]["param"] == "prompt"
    assert ledger.balance_atomic(PAYER) == before


def test_a_failed_generation_through_the_router_costs_nothing(
        router: str, ledger: LedgerFacilitator) -> None:
    before = ledger.balance_atomic(PAYER)
    r = httpx.post(f"{router}/v1/audio/generations",
                   json={**BODY, "prompt": "please fail"}, timeout=60)
    assert r.status_code == 500
    time.sleep(0.3)
    assert ledger.balance_atomic(PAYER) == before
    assert httpx.get(f"{router}/healthz").json()["spent_today_usd"] == "0"


def test_an_over_budget_router_answers_429(tmp_path: Path, upstream: str,
                                           ledger: LedgerFacilitator) -> None:
    settings = router_settings(tmp_path, upstream, max_usd_per_day=0.01)
    before = ledger.balance_atomic(PAYER)
    with serving(build_router_app(settings)) as url:
        r = httpx.post(f"{url}/v1/audio/generations", json=BODY, timeout=60)
    assert r.status_code == 429
    error = r.json()["error"]
    assert error["code"] == "spend_cap_exceeded" and "daily cap" in error["message"]
    assert ledger.balance_atomic(PAYER) == before


def test_the_router_answers_202_and_follows_a_slow_job(tmp_path: Path, upstream: str,
                                                       ledger: LedgerFacilitator) -> None:
    settings = router_settings(tmp_path, upstream, sync_wait_seconds=0.3)
    before = ledger.balance_atomic(PAYER)
    with serving(build_router_app(settings, poll_interval=0.1)) as url:
        r = httpx.post(f"{url}/v1/audio/generations",
                       json={**BODY, "prompt": "slow stages=10 sleep=0.15"}, timeout=60)
        assert r.status_code == 202, r.text
        poll = r.json()["poll_url"]
        assert poll.startswith(f"{url}/v1/audio/generations/rtr_")
        until = time.monotonic() + 30
        while (state := httpx.get(poll)).json()["status"] != "completed":
            assert time.monotonic() < until and state.json()["status"] == "in_progress"
            time.sleep(0.1)
        assert state.headers["X-Payment-Receipt"].startswith("0x")
        assert httpx.get(state.json()["data"][0]["url"]).status_code == 200
    assert ledger.balance_atomic(PAYER) == before - PRICE_ATOMIC
