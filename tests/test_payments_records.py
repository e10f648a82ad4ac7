"""PaymentRecords: the (payer, nonce) reservation is atomic; transitions are compare-and-set."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect

from tests.support.payments import MODEL, PAYER, RESOURCE, T0, FakeClock, make_stack
from tunesmith.payments import (
    PaymentError,
    PaymentRecords,
    ReservationStateError,
    create_payment,
    create_tables,
)
from tunesmith.payments.db import make_engine
from tunesmith.payments.verify import normalize


def verified(tmp_path):
    stack = make_stack(tmp_path)
    signed = create_payment(stack.challenge(), stack.payer, int(T0))
    payload, requirement = normalize(signed.payload, stack.gate.requirements(MODEL))
    return stack, payload, requirement


def test_create_tables_uses_its_own_metadata(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    create_tables(engine)
    create_tables(engine)  # idempotent
    names = inspect(engine).get_table_names()
    assert names == ["payment_records"]
    uniques = inspect(engine).get_unique_constraints("payment_records")
    assert [sorted(u["column_names"]) for u in uniques] == [["nonce", "payer"]]


def test_threads_hammering_one_nonce_exactly_one_wins(tmp_path) -> None:
    stack, payload, requirement = verified(tmp_path)
    threads = 24
    barrier = threading.Barrier(threads)

    def reserve(i: int) -> str:
        # Each thread gets its own store object, as separate requests would.
        records = PaymentRecords(stack.records.engine, clock=stack.clock)
        barrier.wait()
        try:
            return records.reserve(payload, requirement, resource=RESOURCE, job_id=f"job-{i}").id
        except PaymentError as exc:
            assert exc.code == "invalid_exact_evm_nonce_already_used"
            return ""

    with ThreadPoolExecutor(threads) as pool:
        winners = [r for r in pool.map(reserve, range(threads)) if r]
    assert len(winners) == 1
    assert [r.id for r in stack.records.list()] == winners


def test_threads_racing_to_retry_a_released_payment_one_wins(tmp_path) -> None:
    stack, payload, requirement = verified(tmp_path)
    first = stack.records.reserve(payload, requirement, resource=RESOURCE)
    stack.records.release(first.id, "cancelled")
    barrier = threading.Barrier(12)

    def retry(_: int) -> bool:
        barrier.wait()
        try:
            stack.records.reserve(payload, requirement, resource=RESOURCE)
            return True
        except PaymentError:
            return False

    with ThreadPoolExecutor(12) as pool:
        assert sum(pool.map(retry, range(12))) == 1
    assert stack.records.get(first.id).attempts == 2


def test_transitions_are_guarded(tmp_path) -> None:
    stack, payload, requirement = verified(tmp_path)
    records = stack.records
    rec = records.reserve(payload, requirement, resource=RESOURCE, model=MODEL)
    assert (rec.payer, rec.model, rec.amount, rec.status) == (PAYER, MODEL, 157500, "reserved")
    assert records.attach_job(rec.id, "job-9").job_id == "job-9"
    assert records.by_job("job-9")[0].id == rec.id
    records.begin_settle(rec.id)
    with pytest.raises(ReservationStateError):
        records.release(rec.id, "no")
    with pytest.raises(ReservationStateError):
        records.begin_settle(rec.id)
    assert records.mark_settled(rec.id, "0xabc").tx_hash == "0xabc"
    with pytest.raises(ReservationStateError):
        records.mark_failed(rec.id, "late")
    assert records.is_taken(PAYER, rec.nonce)
    with pytest.raises(KeyError):
        records.get("missing")


def test_listing_for_reconciliation(tmp_path) -> None:
    clock = FakeClock()
    stack = make_stack(tmp_path, clock=clock)
    ids = []
    for _ in range(3):
        signed = create_payment(stack.challenge(), stack.payer, int(clock.now))
        ids.append(stack.gate.accept({"PAYMENT-SIGNATURE": signed.header}, RESOURCE, MODEL).id)
        clock.advance(60)
    stack.records.release(ids[0], "failed")
    stale = stack.records.list("reserved", updated_before=datetime.fromtimestamp(T0 + 90, UTC))
    assert [r.id for r in stale] == [ids[1]]
    assert {r.id for r in stack.records.list()} == set(ids)
    assert stack.records.list("released")[0].reason == "failed"
    assert stack.records.get(ids[2]).created_at == datetime.fromtimestamp(T0, UTC) + timedelta(
        seconds=120
    )
    payload = stack.records.get(ids[2]).payload()
    assert payload.payload.authorization.from_ == PAYER
