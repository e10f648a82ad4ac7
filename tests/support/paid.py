"""Helpers for tests of a paying server on loopback: settings, the local ledger, signing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from tests.support.payments import OTHER_KEY, PAY_TO, PAYER, PAYER_KEY
from tests.support.server import free_port
from tunesmith.config import Settings
from tunesmith.payments import (
    LedgerFacilitator,
    PaymentRecords,
    Wallet,
    create_tables,
    decode_payment_required,
    sign_payment,
)
from tunesmith.payments.db import make_engine

TEST_ENGINE = "tests.support.engines:StagedEngine"
TEST_MODEL = "test/staged"
PRICE_USD = "0.02"
PRICE_ATOMIC = 20000

__all__ = ["OTHER_KEY", "PAYER", "PAYER_KEY", "PAY_TO", "PRICE_ATOMIC", "PRICE_USD",
           "TEST_MODEL", "ledger_of", "paid_settings", "payment_for", "records_of",
           "serving"]


def paid_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings of a paying server running the test engine at PRICE_USD a track."""
    values: dict[str, Any] = {
        "data_dir": data_dir, "workers": 2, "engine_plugins": [TEST_ENGINE],
        "default_model": TEST_MODEL, "sync_wait_seconds": 20.0,
        "signing_secret": "test-secret-0123456789", "rate_limit_per_minute": 0,
        "payments_enabled": True, "pay_to": PAY_TO,
        "prices_usd": {TEST_MODEL: float(PRICE_USD), "tunesmith/composer-1": 0.01},
        # Keep the test's own wallet and spend file out of the home directory.
        "wallet_file": data_dir / "wallet" / "wallet.key",
    }
    values.update(overrides)
    return Settings(**values)


def ledger_of(settings: Settings) -> LedgerFacilitator:
    """The server's local ledger (the file `facilitator_from_settings` opens)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return LedgerFacilitator(f"sqlite:///{settings.data_dir / 'ledger.db'}",
                             network=settings.network)


def records_of(settings: Settings) -> PaymentRecords:
    """The server's payment records (kept in the job database)."""
    engine = make_engine(settings.resolved_database_url)
    create_tables(engine)
    return PaymentRecords(engine)


def payment_for(response: httpx.Response, key: str = PAYER_KEY) -> str:
    """A PAYMENT-SIGNATURE value paying the 402 `response` from the wallet `key`."""
    required = decode_payment_required(response.headers["PAYMENT-REQUIRED"])
    return sign_payment(required, Wallet.from_key(key), int(time.time()))


def usd(atomic: int) -> Decimal:
    return Decimal(atomic) / Decimal(1_000_000)


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Any ASGI app (the router) on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    until = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > until or not thread.is_alive():
            raise RuntimeError(f"{url} did not start")
        time.sleep(0.02)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)
