"""LedgerFacilitator: a local stand-in for the chain that checks real signatures."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    DateTime,
    Engine,
    MetaData,
    String,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from . import errors
from .db import make_engine
from .models import (
    Authorization,
    PaymentPayload,
    PaymentRequirements,
    SettleResponse,
    SupportedKind,
    SupportedResponse,
    VerifyResponse,
)
from .networks import NETWORKS, atomic_to_usd, checksum, get_network, usd_to_atomic
from .verify import check_authorization

Clock = Callable[[], float]


class LedgerBase(DeclarativeBase):
    """Declarative base of the ledger tables, on their own MetaData."""

    metadata = MetaData()


class LedgerBalance(LedgerBase):
    """USDC held by an address on a network, in atomic units."""

    __tablename__ = "ledger_balances"
    network: Mapped[str] = mapped_column(String(32), primary_key=True)
    address: Mapped[str] = mapped_column(String(42), primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)


class LedgerNonce(LedgerBase):
    """An EIP-3009 nonce consumed by a settlement (unique per network and payer, as on chain)."""

    __tablename__ = "ledger_nonces"
    network: Mapped[str] = mapped_column(String(32), primary_key=True)
    payer: Mapped[str] = mapped_column(String(42), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(66), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LedgerTransfer(LedgerBase):
    """A settled transfer; `tx_hash` is 0x + sha256 of the authorization."""

    __tablename__ = "ledger_transfers"
    tx_hash: Mapped[str] = mapped_column(String(66), primary_key=True)
    network: Mapped[str] = mapped_column(String(32))
    payer: Mapped[str] = mapped_column(String(42), index=True)
    pay_to: Mapped[str] = mapped_column(String(42), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    nonce: Mapped[str] = mapped_column(String(66))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def fake_tx_hash(auth: Authorization, network: str) -> str:
    """A deterministic stand-in transaction hash for a settled authorization."""
    wire = {key: str(value).lower() for key, value in auth.to_wire().items()}
    wire["network"] = network
    canonical = json.dumps(wire, sort_keys=True, separators=(",", ":")).encode()
    return "0x" + hashlib.sha256(canonical).hexdigest()


class _NotSettled(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class LedgerFacilitator:
    """Verifies and settles exact-scheme payments against balances kept in a database."""

    def __init__(
        self,
        engine: Engine | str = "sqlite:///ledger.db",
        *,
        network: str = "eip155:8453",
        clock: Clock = time.time,
    ) -> None:
        self.engine = make_engine(engine) if isinstance(engine, str) else engine
        self.network = get_network(network).caip2
        self._clock = clock
        LedgerBase.metadata.create_all(self.engine)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), tz=UTC)

    # -- balances ----------------------------------------------------------------------------
    def _ensure_account(self, address: str, network: str) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(LedgerBalance).values(network=network, address=address, amount=0)
                )
        except IntegrityError:
            pass  # already there, perhaps created by a concurrent call

    def fund(self, address: str, usd: Decimal | float | str, network: str | None = None) -> int:
        """Credit `usd` to `address` (a faucet for tests and demos); returns the new balance."""
        net, addr = get_network(network or self.network).caip2, checksum(address)
        self._ensure_account(addr, net)
        amount = usd_to_atomic(usd)
        with self.engine.begin() as conn:
            conn.execute(
                update(LedgerBalance)
                .where(LedgerBalance.network == net, LedgerBalance.address == addr)
                .values(amount=LedgerBalance.amount + amount)
            )
        return self.balance_atomic(addr, net)

    def balance_atomic(self, address: str, network: str | None = None) -> int:
        """Balance of `address` in atomic units (0 when unknown)."""
        net, addr = get_network(network or self.network).caip2, checksum(address)
        with self.engine.connect() as conn:
            value = conn.scalar(
                select(LedgerBalance.amount).where(
                    LedgerBalance.network == net, LedgerBalance.address == addr
                )
            )
        return int(value or 0)

    def balance(self, address: str, network: str | None = None) -> Decimal:
        """Balance of `address` in USD."""
        return atomic_to_usd(self.balance_atomic(address, network))

    def transfers(self, address: str | None = None) -> list[dict[str, object]]:
        """Settled transfers as dicts, newest first, optionally those paid by or to `address`."""
        table = LedgerTransfer.__table__
        query = select(table).order_by(table.c.created_at.desc())
        if address is not None:
            addr = checksum(address)
            query = query.where((table.c.payer == addr) | (table.c.pay_to == addr))
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def _nonce_used(self, network: str, payer: str, nonce: str) -> bool:
        with self.engine.connect() as conn:
            found = conn.scalar(
                select(LedgerNonce.nonce).where(
                    LedgerNonce.network == network,
                    LedgerNonce.payer == payer,
                    LedgerNonce.nonce == nonce,
                )
            )
        return found is not None

    # -- Facilitator protocol ----------------------------------------------------------------
    def verify(self, payload: PaymentPayload, requirements: PaymentRequirements) -> VerifyResponse:
        """The stateless rules, then an unused nonce and enough balance."""
        verdict = check_authorization(payload, requirements, int(self._clock()))
        if not verdict.is_valid:
            return verdict
        auth, net = payload.payload.authorization, requirements.network
        payer = checksum(auth.from_)
        if self._nonce_used(net, payer, auth.nonce):
            return _refuse(errors.NONCE_ALREADY_USED, "nonce already used", payer)
        if self.balance_atomic(payer, net) < int(auth.value):
            return _refuse(errors.INSUFFICIENT_FUNDS, "balance below the price", payer)
        return VerifyResponse(is_valid=True, payer=payer)

    def settle(self, payload: PaymentPayload, requirements: PaymentRequirements) -> SettleResponse:
        """Re-check, then consume the nonce and move the value in one transaction."""
        net = requirements.network
        verdict = check_authorization(payload, requirements, int(self._clock()))
        if not verdict.is_valid:
            return _failed(
                verdict.invalid_reason or errors.INVALID_PAYLOAD,
                verdict.invalid_message,
                net,
                verdict.payer,
            )
        auth = payload.payload.authorization
        payer, pay_to = checksum(auth.from_), checksum(auth.to)
        self._ensure_account(pay_to, net)
        try:
            tx_hash = self._move(auth, net, payer, pay_to)
        except _NotSettled as refused:
            return _failed(refused.code, refused.message, net, payer)
        return SettleResponse(
            success=True, transaction=tx_hash, network=net, payer=payer, amount=auth.value
        )

    def _move(self, auth: Authorization, net: str, payer: str, pay_to: str) -> str:
        value, now = int(auth.value), self._now()
        tx_hash = fake_tx_hash(auth, net)
        try:
            with self.engine.begin() as conn:
                # The nonce insert comes first: a write as the first statement makes SQLite take
                # the write lock at once, and the primary key refuses a second settlement.
                conn.execute(
                    insert(LedgerNonce).values(
                        network=net, payer=payer, nonce=auth.nonce, used_at=now
                    )
                )
                debited = conn.execute(
                    update(LedgerBalance)
                    .where(
                        LedgerBalance.network == net,
                        LedgerBalance.address == payer,
                        LedgerBalance.amount >= value,
                    )
                    .values(amount=LedgerBalance.amount - value)
                )
                if debited.rowcount != 1:
                    raise _NotSettled(errors.INSUFFICIENT_FUNDS, "balance below the price")
                conn.execute(
                    update(LedgerBalance)
                    .where(LedgerBalance.network == net, LedgerBalance.address == pay_to)
                    .values(amount=LedgerBalance.amount + value)
                )
                conn.execute(
                    insert(LedgerTransfer).values(
                        tx_hash=tx_hash,
                        network=net,
                        payer=payer,
                        pay_to=pay_to,
                        amount=value,
                        nonce=auth.nonce,
                        created_at=now,
                    )
                )
        except IntegrityError as exc:
            raise _NotSettled(errors.NONCE_ALREADY_USED, "nonce already used") from exc
        return tx_hash

    def supported(self) -> SupportedResponse:
        """Exact scheme, v1 and v2, on every network in our table."""
        kinds = [
            SupportedKind(x402_version=version, scheme="exact", network=name)
            for net in NETWORKS.values()
            for version, name in ((2, net.caip2), (1, net.v1_name))
        ]
        return SupportedResponse(kinds=kinds)


def _refuse(code: str, message: str, payer: str | None) -> VerifyResponse:
    return VerifyResponse(is_valid=False, invalid_reason=code, invalid_message=message, payer=payer)


def _failed(code: str, message: str | None, network: str, payer: str | None) -> SettleResponse:
    return SettleResponse(
        success=False, error_reason=code, error_message=message, network=network, payer=payer
    )
