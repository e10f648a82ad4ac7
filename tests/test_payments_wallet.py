"""Client wallet: key file, settings override, choosing an offer, spend caps across processes."""

from __future__ import annotations

import multiprocessing
import stat
from decimal import Decimal

import pytest

from tests.support.payments import (
    PAY_TO,
    PAYER,
    PAYER_KEY,
    RESOURCE,
    T0,
    FakeClock,
    make_stack,
)
from tunesmith.config import Settings
from tunesmith.payments import (
    NoSupportedRequirement,
    SpendCapExceeded,
    SpendPolicy,
    Wallet,
    WalletError,
    build_payment_required,
    build_requirements,
    create_payment,
    decode_payment_payload,
    sign_payment,
)


def test_create_writes_a_private_key_file_and_load_reads_it(tmp_path) -> None:
    path = tmp_path / "keys" / "wallet.key"
    created = Wallet.create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Wallet.load(path).address == created.address
    assert PAYER_KEY not in repr(created) and "0x" in repr(created)
    with pytest.raises(WalletError, match="already exists"):
        Wallet.create(path)


def test_load_errors_are_clear(tmp_path) -> None:
    with pytest.raises(WalletError, match="cannot read"):
        Wallet.load(tmp_path / "missing.key")
    bad = tmp_path / "bad.key"
    bad.write_text("not a key")
    bad.chmod(0o600)
    with pytest.raises(WalletError, match="not a valid"):
        Wallet.load(bad)
    loose = tmp_path / "loose.key"
    loose.write_text(PAYER_KEY)
    loose.chmod(0o644)
    with pytest.warns(UserWarning, match="chmod 600"):
        assert Wallet.load(loose).address == PAYER


def test_settings_key_overrides_the_file(tmp_path) -> None:
    file_wallet = Wallet.create(tmp_path / "w.key")
    from_file = Settings(data_dir=tmp_path, wallet_file=tmp_path / "w.key")
    assert Wallet.from_settings(from_file).address == file_wallet.address
    overridden = Settings(data_dir=tmp_path, wallet_file=tmp_path / "w.key", wallet_key=PAYER_KEY)
    assert Wallet.from_settings(overridden).address == PAYER


def test_sign_payment_picks_the_first_payable_offer(tmp_path) -> None:
    offers = [
        build_requirements("eip155:8453", PAY_TO, 157500).model_copy(update={"scheme": "upto"}),
        build_requirements("eip155:84532", PAY_TO, 157500),
        build_requirements("eip155:8453", PAY_TO, 157500),
    ]
    required = build_payment_required(RESOURCE, offers)
    payment = decode_payment_payload(sign_payment(required, Wallet.from_key(PAYER_KEY), int(T0)))
    assert payment.accepted == offers[1]
    auth = payment.payload.authorization
    assert (auth.from_, auth.to, auth.value) == (PAYER, PAY_TO, "157500")
    assert (int(auth.valid_after), int(auth.valid_before)) == (int(T0) - 600, int(T0) + 300)
    with pytest.raises(NoSupportedRequirement, match="upto"):
        create_payment(
            build_payment_required(RESOURCE, offers[:1]), Wallet.from_key(PAYER_KEY), int(T0)
        )


def test_unknown_asset_is_not_signed() -> None:
    offer = build_requirements("eip155:8453", PAY_TO, 1).model_copy(update={"asset": PAY_TO})
    with pytest.raises(NoSupportedRequirement):
        create_payment(
            build_payment_required(RESOURCE, [offer]), Wallet.from_key(PAYER_KEY), int(T0)
        )


def test_spend_caps_per_request_and_per_day(tmp_path) -> None:
    clock = FakeClock(T0)
    stack = make_stack(tmp_path, fund_usd="10")
    policy = SpendPolicy.beside_wallet(tmp_path / "w.key", "0.20", "0.50", clock=clock)
    assert policy.path == tmp_path / "spend.sqlite"
    wallet = stack.payer
    required = stack.challenge()
    for _ in range(3):
        create_payment(required, wallet, int(clock.now), policy=policy)
    assert policy.spent_today() == Decimal("0.4725")
    with pytest.raises(SpendCapExceeded, match="daily cap") as caught:
        create_payment(required, wallet, int(clock.now), policy=policy)
    assert caught.value.cap == "per_day" and caught.value.limit_usd == Decimal("0.5")
    with pytest.raises(SpendCapExceeded, match="per-request"):
        create_payment(
            stack.challenge(),
            wallet,
            int(clock.now),
            policy=SpendPolicy(tmp_path / "s2", "0.10", "5"),
        )
    clock.advance(86400)  # a new UTC day
    assert policy.spent_today() == 0
    create_payment(required, wallet, int(clock.now), policy=policy)


def test_refund_gives_back_room_under_the_cap(tmp_path) -> None:
    stack = make_stack(tmp_path)
    policy = SpendPolicy(tmp_path / "spend.sqlite", "1", "0.20", clock=FakeClock(T0))
    signed = create_payment(stack.challenge(), stack.payer, int(T0), policy=policy)
    with pytest.raises(SpendCapExceeded):
        create_payment(stack.challenge(), stack.payer, int(T0), policy=policy)
    assert policy.refund(signed.nonce) and not policy.refund(signed.nonce)
    create_payment(stack.challenge(), stack.payer, int(T0), policy=policy)


def test_zero_cap_pays_nothing(tmp_path) -> None:
    stack = make_stack(tmp_path)
    with pytest.raises(SpendCapExceeded):
        create_payment(
            stack.challenge(), stack.payer, int(T0), policy=SpendPolicy(tmp_path / "s", 0, 0)
        )


def _spend_in_process(path: str, tries: int, out: multiprocessing.Queue[int]) -> None:
    policy = SpendPolicy(path, "1", "1.00", clock=lambda: T0)
    ok = 0
    for i in range(tries):
        try:
            policy.authorize(
                100000,
                nonce=f"0x{multiprocessing.current_process().pid:x}{i:04x}",
                payee=PAY_TO,
                resource=RESOURCE,
            )
            ok += 1
        except SpendCapExceeded:
            pass
    out.put(ok)


def test_daily_cap_holds_across_processes(tmp_path) -> None:
    path = str(tmp_path / "spend.sqlite")
    SpendPolicy(path, "1", "1.00")
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_spend_in_process, args=(path, 6, out)) for _ in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(30)
    assert sum(out.get(timeout=5) for _ in procs) == 10  # $1.00 / $0.10, never more
    assert SpendPolicy(path, "1", "1", clock=lambda: T0).spent_today() == Decimal("1")
