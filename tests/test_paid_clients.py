"""Paying clients against a paying server on loopback: our SDK, the official x402 SDK,
the vendor's blockrun_llm, and the CLI's wallet and ledger commands."""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from typer.testing import CliRunner

from tests.support.paid import (
    PAY_TO,
    PAYER,
    PAYER_KEY,
    PRICE_ATOMIC,
    ledger_of,
    paid_settings,
    records_of,
)
from tests.support.server import FakeClock, running_server
from tunesmith.cli import app as cli
from tunesmith.client import (
    AsyncClient,
    Client,
    GenerationFailedError,
    InternalServerError,
    SpendCapExceeded,
    pay_with,
)
from tunesmith.config import Settings
from tunesmith.payments import LedgerFacilitator, SpendPolicy, Wallet

CLOCK = FakeClock()
BODY = {"prompt": "third party synthwave", "instrumental": True, "duration_seconds": 5}


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return paid_settings(tmp_path_factory.mktemp("clients"))


@pytest.fixture(scope="module")
def ledger(settings: Settings) -> LedgerFacilitator:
    ledger = ledger_of(settings)
    ledger.fund(PAYER, "1.00")
    return ledger


@pytest.fixture(scope="module")
def url(settings: Settings, ledger: LedgerFacilitator) -> Iterator[str]:
    with running_server(settings, clock=CLOCK) as base:
        yield base


def charged(ledger: LedgerFacilitator, before: int) -> int:
    return before - ledger.balance_atomic(PAYER)


def policy(tmp_path: Path, per_request: str = "0.50", per_day: str = "5") -> SpendPolicy:
    return SpendPolicy(tmp_path / "spend.sqlite", per_request, per_day)


def test_sdk_pays_a_402_automatically(url: str, ledger: LedgerFacilitator,
                                      tmp_path: Path) -> None:
    before, caps = ledger.balance_atomic(PAYER), policy(tmp_path)
    with Client(url, pay=pay_with(Wallet.from_key(PAYER_KEY), caps)) as client:
        result = client.generate("sdk paid", instrumental=True, duration_seconds=5)
        assert result.receipt and result.receipt.startswith("0x")
        client.download(result.data[0], tmp_path / "t.mp3")
    assert (tmp_path / "t.mp3").stat().st_size > 0
    assert charged(ledger, before) == PRICE_ATOMIC
    assert caps.spent_today_atomic() == PRICE_ATOMIC


def test_sdk_follows_a_paid_job_with_its_payment_as_proof(
        url: str, ledger: LedgerFacilitator, tmp_path: Path) -> None:
    before = ledger.balance_atomic(PAYER)
    with Client(url, pay=pay_with(Wallet.from_key(PAYER_KEY), policy(tmp_path)),
                poll_interval=0.1) as client:
        stages: list[str] = []
        result = client.generate("polled stages=3 sleep=0.1", duration_seconds=5,
                                 on_progress=lambda _f, stage: stages.append(stage))
    assert stages[-1] == "completed" and result.receipt
    assert charged(ledger, before) == PRICE_ATOMIC


def test_sdk_refuses_to_pay_above_the_cap(url: str, ledger: LedgerFacilitator,
                                          tmp_path: Path, settings: Settings) -> None:
    before, caps = ledger.balance_atomic(PAYER), policy(tmp_path, per_request="0.01")
    paid_before = len(records_of(settings).list())
    with Client(url, pay=pay_with(Wallet.from_key(PAYER_KEY), caps)) as client, \
            pytest.raises(SpendCapExceeded):
        client.generate("too dear", duration_seconds=5)
    daily = policy(tmp_path / "daily", per_day="0.03")
    with Client(url, pay=pay_with(Wallet.from_key(PAYER_KEY), daily)) as client:
        client.generate("first fits", duration_seconds=5)
        with pytest.raises(SpendCapExceeded, match="daily cap"):
            client.generate("second does not", duration_seconds=5)
    assert charged(ledger, before) == PRICE_ATOMIC
    assert caps.spent_today_atomic() == 0
    assert len(records_of(settings).list()) == paid_before + 1


def test_sdk_refunds_the_policy_when_the_paid_call_fails(
        url: str, ledger: LedgerFacilitator, tmp_path: Path) -> None:
    before, caps = ledger.balance_atomic(PAYER), policy(tmp_path)
    with Client(url, pay=pay_with(Wallet.from_key(PAYER_KEY), caps), max_retries=0) as client:
        with pytest.raises(InternalServerError):
            client.generate("please fail", duration_seconds=5)
        with pytest.raises(GenerationFailedError):
            client.generate("async fail", duration_seconds=5, on_progress=lambda *_: None)
    assert caps.spent_today_atomic() == 0
    assert charged(ledger, before) == 0


def test_async_sdk_pays_too(url: str, ledger: LedgerFacilitator, tmp_path: Path) -> None:
    before = ledger.balance_atomic(PAYER)

    async def run() -> str | None:
        async with AsyncClient(url, pay=pay_with(Wallet.from_key(PAYER_KEY),
                                                 policy(tmp_path))) as client:
            return (await client.generate("async paid", duration_seconds=5)).receipt

    assert asyncio.run(run()) and charged(ledger, before) == PRICE_ATOMIC


def test_official_x402_sdk_pays_over_http(url: str, ledger: LedgerFacilitator) -> None:
    requests = pytest.importorskip("requests")
    pytest.importorskip("x402.http.clients.requests")
    from x402 import x402ClientSync
    from x402.http.clients.requests import wrapRequestsWithPayment
    from x402.http.utils import decode_payment_response_header
    from x402.mechanisms.evm.exact.client import ExactEvmScheme

    before = ledger.balance_atomic(PAYER)
    x402 = x402ClientSync()
    x402.register("eip155:8453", ExactEvmScheme(Account.from_key(PAYER_KEY)))
    session = wrapRequestsWithPayment(requests.Session(), x402)
    r = session.post(f"{url}/api/v1/audio/generations", json=BODY, timeout=60)
    assert r.status_code == 200, r.text
    assert httpx.get(r.json()["data"][0]["url"]).status_code == 200
    receipt = decode_payment_response_header(r.headers["PAYMENT-RESPONSE"])
    assert receipt.success and receipt.transaction == r.headers["X-Payment-Receipt"]
    assert charged(ledger, before) == PRICE_ATOMIC


@pytest.mark.parametrize("header", ["X-Payment", "PAYMENT-SIGNATURE"])
def test_blockrun_client_pays_over_http(url: str, ledger: LedgerFacilitator,
                                        header: str) -> None:
    blockrun = pytest.importorskip("blockrun_llm.x402")
    before = ledger.balance_atomic(PAYER)
    first = httpx.post(f"{url}/api/v1/audio/generations", json=BODY)
    pr = blockrun.parse_payment_required(first.headers["PAYMENT-REQUIRED"])
    acc = pr["accepts"][0]
    payload = blockrun.create_payment_payload(
        account=Account.from_key(PAYER_KEY), recipient=acc["payTo"],
        amount=str(acc["amount"]), network=acc["network"], resource_url=pr["resource"]["url"],
        resource_description="BlockRun music generation",
        max_timeout_seconds=acc["maxTimeoutSeconds"], extra=acc.get("extra"),
        asset=acc["asset"])
    r = httpx.post(f"{url}/api/v1/audio/generations", json=BODY, headers={header: payload},
                   timeout=60)
    assert r.status_code == 200, r.text
    assert r.headers["X-Payment-Receipt"].startswith("0x")
    assert httpx.get(r.json()["data"][0]["url"]).status_code == 200
    assert charged(ledger, before) == PRICE_ATOMIC


def test_cli_wallet_and_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               settings: Settings, url: str) -> None:
    runner = CliRunner()
    key_file = tmp_path / "w" / "wallet.key"
    monkeypatch.setenv("TUNESMITH_WALLET_FILE", str(key_file))
    monkeypatch.setenv("TUNESMITH_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("TUNESMITH_WALLET_KEY", raising=False)
    created = runner.invoke(cli, ["wallet", "create"])
    assert created.exit_code == 0, created.output
    address = created.stdout.strip().splitlines()[0]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert runner.invoke(cli, ["wallet", "create"]).exit_code == 1  # never overwrites
    shown = runner.invoke(cli, ["wallet", "show", "--json"])
    assert json.loads(shown.stdout)["address"] == address
    monkeypatch.setenv("TUNESMITH_WALLET_KEY", PAYER_KEY)
    assert json.loads(runner.invoke(cli, ["wallet", "show", "--json"]).stdout)[
        "address"] == PAYER
    assert runner.invoke(cli, ["ledger", "fund", address, "0.5"]).exit_code == 0
    assert "0.5" in runner.invoke(cli, ["ledger", "balance", address]).stdout
    listed = runner.invoke(cli, ["ledger", "payments", "--json"])
    rows = json.loads(listed.stdout)
    assert rows and {"payer", "usd", "job", "status", "tx"} <= set(rows[0])
    assert any(r["status"] == "settled" and r["tx"] for r in rows)
    assert all(r["payer"] == PAYER for r in rows if r["status"] == "settled")
    assert PAY_TO  # the payee is the server's, never the client's choice


def test_cli_generate_pays_with_the_configured_wallet(
        url: str, ledger: LedgerFacilitator, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.setenv("TUNESMITH_WALLET_KEY", PAYER_KEY)
    monkeypatch.setenv("TUNESMITH_WALLET_FILE", str(tmp_path / "wallet.key"))
    before = ledger.balance_atomic(PAYER)
    out = tmp_path / "cli.mp3"
    refused = runner.invoke(cli, ["generate", "cli song", "--duration", "5", "--server", url,
                                  "--no-pay", "-o", str(out)])
    assert refused.exit_code == 1 and not out.exists()
    paid = runner.invoke(cli, ["generate", "cli song", "--duration", "5", "--server", url,
                               "-o", str(out)])
    assert paid.exit_code == 0, paid.output
    assert out.stat().st_size > 0
    assert charged(ledger, before) == PRICE_ATOMIC
