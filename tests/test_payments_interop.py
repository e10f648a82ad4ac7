"""Interoperability with the official `x402` SDK and the vendor's `blockrun_llm` client."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from tests.support.payments import (
    MODEL,
    PAY_TO,
    PAYER,
    PAYER_KEY,
    RESOURCE,
    FakeClock,
    Stack,
    make_stack,
)
from tunesmith.payments import PaymentError, create_payment, eip3009
from tunesmith.payments import errors as codes
from tunesmith.payments.models import Authorization
from tunesmith.payments.networks import BASE

x402_utils = pytest.importorskip("x402.http.utils", reason="official x402 SDK not installed")
blockrun = pytest.importorskip("blockrun_llm.x402", reason="blockrun_llm not installed")

from eth_account import Account  # noqa: E402
from x402 import x402ClientSync  # noqa: E402
from x402.mechanisms.evm.exact.client import ExactEvmScheme as OfficialClientScheme  # noqa: E402
from x402.mechanisms.evm.exact.facilitator import ExactEvmScheme as OfficialFacilitator  # noqa: E402
from x402.schemas import PaymentPayload as OfficialPayload  # noqa: E402
from x402.schemas import PaymentRequirements as OfficialRequirements  # noqa: E402
from x402.server_base import _payment_requirements_match_accepted  # noqa: E402


@pytest.fixture
def stack(tmp_path) -> Stack:
    # These clients read the wall clock themselves, so the server's clock must too.
    return make_stack(tmp_path, clock=FakeClock(time.time()))


def test_official_client_payment_is_accepted_and_settled(stack: Stack) -> None:
    _, headers, _ = stack.gate.challenge(RESOURCE, MODEL)
    required = x402_utils.decode_payment_required_header(headers["PAYMENT-REQUIRED"])
    client = x402ClientSync()
    client.register("eip155:8453", OfficialClientScheme(Account.from_key(PAYER_KEY)))
    payload = client.create_payment_payload(required)
    header = x402_utils.encode_payment_signature_header(payload)
    reservation = stack.gate.accept({"PAYMENT-SIGNATURE": header}, RESOURCE, MODEL)
    receipt_headers = stack.gate.settle(reservation)
    assert stack.ledger.balance_atomic(PAY_TO) == 157500
    receipt = x402_utils.decode_payment_response_header(receipt_headers["PAYMENT-RESPONSE"])
    assert receipt.success and receipt.transaction == receipt_headers["X-Payment-Receipt"]


def test_official_client_payment_tampered_is_refused(stack: Stack) -> None:
    _, headers, _ = stack.gate.challenge(RESOURCE, MODEL)
    required = x402_utils.decode_payment_required_header(headers["PAYMENT-REQUIRED"])
    client = x402ClientSync()
    client.register("eip155:8453", OfficialClientScheme(Account.from_key(PAYER_KEY)))
    data = json.loads(
        base64.b64decode(
            x402_utils.encode_payment_signature_header(client.create_payment_payload(required))
        )
    )
    data["payload"]["authorization"]["value"] = "1"
    with pytest.raises(PaymentError) as caught:
        stack.gate.accept(
            {"PAYMENT-SIGNATURE": base64.b64encode(json.dumps(data).encode()).decode()},
            RESOURCE,
            MODEL,
        )
    assert caught.value.code == codes.VALUE_MISMATCH


class LedgerChain:
    """A FacilitatorEvmSigner for the official facilitator, backed by our ledger (no RPC)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def get_addresses(self) -> list[str]:
        return ["0x000000000000000000000000000000000000fac1"]

    def get_code(self, address: str) -> bytes:
        # The USDC contract has code; every wallet here is a plain key (EOA).
        return b"\x60\x80" if address.lower() == BASE.asset.lower() else b""

    def read_contract(self, address: str, abi: Any, function_name: str, *args: Any) -> Any:
        assert function_name == "transferWithAuthorization", function_name
        payer, _to, value = args[0], args[1], args[2]
        if self.stack.ledger.balance_atomic(payer) < value:
            raise RuntimeError("execution reverted: ERC20: transfer amount exceeds balance")
        return None

    def get_chain_id(self) -> int:
        return BASE.chain_id


def official_verify(stack: Stack, header: str) -> Any:
    data = json.loads(base64.b64decode(header))
    payload = OfficialPayload.model_validate(data)
    offer = stack.gate.requirements(MODEL)[0].to_wire()
    requirements = OfficialRequirements.model_validate(offer)
    assert _payment_requirements_match_accepted(requirements, payload.accepted)
    return OfficialFacilitator(LedgerChain(stack)).verify(payload, requirements)


def test_official_facilitator_accepts_our_signatures(stack: Stack) -> None:
    header = create_payment(stack.challenge(), stack.payer, int(time.time())).header
    verdict = official_verify(stack, header)
    assert verdict.is_valid, verdict
    assert verdict.payer == PAYER


def test_official_facilitator_agrees_on_refusals(stack: Stack) -> None:
    data = json.loads(
        base64.b64decode(create_payment(stack.challenge(), stack.payer, int(time.time())).header)
    )
    auth = Authorization.model_validate(data["payload"]["authorization"])
    data["payload"]["signature"] = eip3009.sign(
        auth, PAYER_KEY, BASE, domain={**BASE.eip712_domain(), "name": "USDC"}
    )
    header = base64.b64encode(json.dumps(data).encode()).decode()
    assert official_verify(stack, header).invalid_reason == codes.INVALID_SIGNATURE
    with pytest.raises(PaymentError) as caught:
        stack.gate.accept({"PAYMENT-SIGNATURE": header}, RESOURCE, MODEL)
    assert caught.value.code == codes.INVALID_SIGNATURE


def test_official_facilitator_sees_an_empty_wallet(tmp_path) -> None:
    stack = make_stack(tmp_path, fund_usd="0.01", clock=FakeClock(time.time()))
    verdict = official_verify(
        stack, create_payment(stack.challenge(), stack.payer, int(time.time())).header
    )
    assert (
        not verdict.is_valid and verdict.invalid_reason == "invalid_exact_evm_insufficient_balance"
    )


def blockrun_payment(stack: Stack) -> str:
    _, headers, _ = stack.gate.challenge(RESOURCE, MODEL)
    pr = blockrun.parse_payment_required(headers["PAYMENT-REQUIRED"])
    acc = pr["accepts"][0]
    return blockrun.create_payment_payload(
        account=Account.from_key(PAYER_KEY),
        recipient=acc["payTo"],
        amount=str(acc["amount"]),
        network=acc["network"],
        resource_url=pr["resource"]["url"],
        resource_description="BlockRun music generation",
        max_timeout_seconds=acc["maxTimeoutSeconds"],
        extra=acc.get("extra"),
        asset=acc["asset"],
    )


@pytest.mark.parametrize("header_name", ["X-Payment", "PAYMENT-SIGNATURE"])
def test_blockrun_client_payment_is_accepted_and_settled(stack: Stack, header_name: str) -> None:
    header = blockrun_payment(stack)
    assert "extensions" in json.loads(base64.b64decode(header))  # sent, and ignored
    reservation = stack.gate.accept({header_name: header}, RESOURCE, MODEL)
    receipt = stack.gate.settle(reservation)
    assert receipt["X-Payment-Receipt"].startswith("0x")
    assert stack.ledger.balance_atomic(PAY_TO) == 157500
    with pytest.raises(PaymentError) as caught:
        stack.gate.accept({header_name: header}, RESOURCE, MODEL)
    assert caught.value.code == codes.NONCE_ALREADY_USED
