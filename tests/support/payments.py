"""Shared keys, clock and builders for the payments tests (holds no tests itself)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunesmith.payments import (
    LedgerFacilitator,
    PaymentGate,
    PaymentRecords,
    PaymentRequired,
    Wallet,
    create_tables,
    decode_payment_required,
)
from tunesmith.payments.db import make_engine

# Hardhat's well-known development keys: fixed, public, never funded on a real chain.
PAYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
PAYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
OTHER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
OTHER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
PAY_TO = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C"
MODEL = "minimax/music-2.5+"
PRICE_ATOMIC = 157500
RESOURCE = "https://music.example/api/v1/audio/generations"
T0 = 1_800_000_000.0
PRICES = {MODEL: 0.1575, "tunesmith/composer-1": 0.01}


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Stack:
    """A server-side stack: ledger facilitator, records and gate sharing one clock."""

    clock: FakeClock
    ledger: LedgerFacilitator
    records: PaymentRecords
    gate: PaymentGate
    payer: Wallet

    def challenge(self, model: str = MODEL) -> PaymentRequired:
        _, headers, _ = self.gate.challenge(RESOURCE, model)
        return decode_payment_required(headers["PAYMENT-REQUIRED"])


def make_stack(
    tmp_path: Path, *, fund_usd: str = "1.00", clock: Any = None, **gate_kw: Any
) -> Stack:
    """A funded payer in front of a gate on SQLite files in tmp_path."""
    clock = clock or FakeClock()
    ledger = LedgerFacilitator(f"sqlite:///{tmp_path / 'ledger.db'}", clock=clock)
    engine = make_engine(f"sqlite:///{tmp_path / 'records.db'}")
    create_tables(engine)
    records = PaymentRecords(engine, clock=clock)
    gate = PaymentGate(
        pay_to=PAY_TO,
        network="eip155:8453",
        prices=PRICES,
        facilitator=ledger,
        records=records,
        clock=clock,
        **gate_kw,
    )
    if fund_usd:
        ledger.fund(PAYER, fund_usd)
    return Stack(clock, ledger, records, gate, Wallet.from_key(PAYER_KEY))
