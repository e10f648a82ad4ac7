"""x402 payments as the API sees them: ask, take, prove ownership, and report the receipt.

The order of a paid POST is: validate the body and resolve the model (400s first), look the
Idempotency-Key up (a retry never pays twice), then verify and reserve the payment, then
queue. Money only moves in ``Settlement`` (tunesmith.jobs.settlement), after the track is
stored.

Job ownership. A paid job belongs to the address that paid for it. Its poll, events and cancel
routes want one of these proofs (403 otherwise):
- the same payment header that paid (``PAYMENT-SIGNATURE`` / ``X-PAYMENT``): same payer, same
  nonce, and a signature that recovers to the payer. Every x402 client can do this.
- ``X-Payer-Signature: 0x...``: an EIP-191 ``personal_sign`` by the payer of the text
  ``tunesmith-job:<job id>``. Unlike the payment header it never appears on chain.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tunesmith.api.errors import ApiError, envelope
from tunesmith.api.schemas import GenerationBody
from tunesmith.api.service import GenerationService
from tunesmith.engines.registry import ModelEntry
from tunesmith.jobs.models import CANCELED, COMPLETED, FAILED, Job
from tunesmith.jobs.settlement import Settlement, payment_info
from tunesmith.jobs.store import Clock, new_job_id
from tunesmith.payments import (
    HeaderDecodeError,
    PaymentError,
    PaymentPayload,
    PaymentPayloadV1,
    Reservation,
    decode_payment_payload,
    eip3009,
    find_payment_header,
    get_network,
)
from tunesmith.payments import errors as codes
from tunesmith.payments.networks import same_address
from tunesmith.payments.reservations import RELEASED, SETTLED, SETTLING

PAYER_SIGNATURE_HEADER = "X-Payer-Signature"
SETTLE_WAIT_SECONDS = 10.0
SETTLE_POLL_SECONDS = 0.1
# How long a request whose payment is already held waits for its twin's job to appear.
TWIN_WAIT_SECONDS = 2.0


def ownership_message(job_id: str) -> str:
    """The text a payer signs (EIP-191) to prove a paid job is theirs."""
    return f"tunesmith-job:{job_id}"


class PaymentChallenge(Exception):
    """A 402: the x402 challenge headers plus our envelope and the price in the body."""

    def __init__(self, headers: dict[str, str], body: dict[str, Any], message: str, code: str):
        super().__init__(message)
        self.headers, self.body, self.message, self.code = headers, body, message, code

    def response(self) -> JSONResponse:
        price = self.body.get("price")
        # The x402 v1 fields stay at the top level; `error` is our one envelope.
        content = {**self.body, **envelope(402, self.message, self.code, None, price=price)}
        return JSONResponse(content, status_code=402, headers=self.headers)


def install_payment_errors(app: FastAPI) -> None:
    @app.exception_handler(PaymentChallenge)
    async def _challenge(_: Request, exc: PaymentChallenge) -> JSONResponse:
        return exc.response()


class PaymentDesk:
    """The API's side of payments; every blocking call runs in a thread."""

    def __init__(self, settlement: Settlement, clock: Clock = time.time):
        self.settlement, self.gate, self.clock = settlement, settlement.gate, clock

    # -- asking --------------------------------------------------------------------------------
    def is_paid(self, model: str) -> bool:
        """Whether `model` costs money; a model with no price while payments are on is a 503."""
        if model not in self.gate.prices:
            raise ApiError(503, f"model '{model}' has no price configured and payments are on; "
                           "the operator must add it to TUNESMITH_PRICES_USD",
                           "model_not_priced", "model")
        return self.gate.prices.atomic(model) > 0

    def challenge(self, resource: str, model: str, code: str = codes.PAYMENT_REQUIRED,
                  message: str | None = None) -> PaymentChallenge:
        error = None if code == codes.PAYMENT_REQUIRED else code
        _, headers, body = self.gate.challenge(resource, model, error)
        usd = body["price"]["usd"]
        text = message or f"this generation costs ${usd} (USDC on {self.gate.network}); pay " \
                          "with an x402 PAYMENT-SIGNATURE header"
        return PaymentChallenge(headers, body, text, code)

    # -- taking --------------------------------------------------------------------------------
    async def submit(self, service: GenerationService, body: GenerationBody, entry: ModelEntry,
                     client: str, key: str | None, headers: Mapping[str, str],
                     resource: str) -> Job:
        """Idempotency lookup, then payment, then queue; never charges a retry twice."""
        found = await asyncio.to_thread(service.existing, body, entry, key)
        if found is not None:
            self._check_retry(found, headers, resource, entry.model_id)
            return found
        if not self.is_paid(entry.model_id):
            job, _ = await asyncio.to_thread(service.submit, body, entry, client, key)
            return job
        await asyncio.to_thread(service.check_queue)  # a full queue answers 429 before paying
        job_id = new_job_id()
        try:
            reservation = await self.reserve(headers, resource, entry.model_id, job_id)
        except PaymentChallenge as refused:
            twin = await self._twin(service, headers, key) if refused.code == \
                codes.NONCE_ALREADY_USED else None
            if twin is None:
                raise
            return twin
        try:
            job, created = await asyncio.to_thread(service.submit, body, entry, client, key,
                                                   self.info(reservation), job_id)
        except BaseException:
            await self.release(reservation, "the job could not be queued")
            raise
        if not created:  # a concurrent retry with the same key won the insert
            await self.release(reservation, "the request was a retry of an existing job")
            self._check_retry(job, headers, resource, entry.model_id)
        return job

    def _check_retry(self, job: Job, headers: Mapping[str, str], resource: str,
                     model: str) -> None:
        """A retried POST gets its paid job back only from the payer who paid for it."""
        if not job.payment or self.owner_proof(job, headers, same_nonce=False):
            return
        if find_payment_header(headers) or _header(headers, PAYER_SIGNATURE_HEADER):
            self.check_owner(job, headers)
        raise self.challenge(resource, model, message=f"this Idempotency-Key belongs to paid "
                             f"job '{job.id}'; send the payment that paid for it to get it back")

    async def _twin(self, service: GenerationService, headers: Mapping[str, str],
                    key: str | None) -> Job | None:
        """The job a concurrent copy of this request (same key, same payment) is creating."""
        paid = self.paid_by(headers)
        if not key or paid is None:
            return None
        job_id = await asyncio.to_thread(self.job_for_payment, *paid)
        until = time.monotonic() + TWIN_WAIT_SECONDS
        while job_id is not None and time.monotonic() < until:
            job = await asyncio.to_thread(service.jobs.get, job_id)
            if job is not None:
                return job if job.idempotency_key == key else None
            await asyncio.sleep(SETTLE_POLL_SECONDS)
        return None

    async def reserve(self, headers: Mapping[str, str], resource: str, model: str,
                      job_id: str) -> Reservation:
        """Verify the payment and hold it for `job_id`; a 402 challenge otherwise."""
        try:
            return await asyncio.to_thread(self.gate.accept, headers, resource, model,
                                           job_id=job_id)
        except PaymentError as exc:
            if exc.status != 402:
                raise ApiError(exc.status, f"payment could not be verified: {exc.message}",
                               exc.code) from exc
            message = None if exc.code == codes.PAYMENT_REQUIRED else \
                f"payment refused ({exc.code}): {exc.message}"
            raise self.challenge(resource, model, exc.code, message) from exc

    async def release(self, reservation: Reservation, reason: str) -> None:
        record = await asyncio.to_thread(self.gate.records.get, reservation.id)
        if record.status not in (SETTLED, SETTLING, RELEASED):
            await asyncio.to_thread(self.gate.release, record, reason)

    def paid_by(self, headers: Mapping[str, str]) -> tuple[str, str] | None:
        """(payer, nonce) the request's payment header names, unverified; None without one."""
        payload = _payload(headers)
        if payload is None:
            return None
        auth = payload.payload.authorization
        return auth.from_, auth.nonce

    def job_for_payment(self, payer: str, nonce: str) -> str | None:
        """The job a (payer, nonce) already pays for, if it is held or spent."""
        record = self.gate.records.find(payer, nonce)
        if record is None or record.status == RELEASED:
            return None
        return record.job_id

    @staticmethod
    def info(reservation: Reservation) -> dict[str, Any]:
        return payment_info(reservation)

    # -- ownership -----------------------------------------------------------------------------
    def owner_proof(self, job: Job, headers: Mapping[str, str], same_nonce: bool = True) -> bool:
        """Whether the request proves it comes from the payer of `job` (see module doc)."""
        info = job.payment or {}
        payer = str(info.get("payer", ""))
        signed = _header(headers, PAYER_SIGNATURE_HEADER)
        if signed:
            return _personal_signer(ownership_message(job.id), signed, payer)
        payload = _payload(headers)
        if payload is None:
            return False
        auth = payload.payload.authorization
        if not same_address(auth.from_, payer):
            return False
        if same_nonce and auth.nonce.lower() != str(info.get("nonce", "")).lower():
            return False
        signer = eip3009.recover(auth, payload.payload.signature,
                                 get_network(str(info.get("network", self.gate.network))))
        return signer is not None and same_address(signer, payer)

    def check_owner(self, job: Job, headers: Mapping[str, str]) -> None:
        """403 unless the caller proves it paid for this job (free jobs are anyone's)."""
        if not job.payment or self.owner_proof(job, headers):
            return
        raise ApiError(403, f"job '{job.id}' was paid for by another payer; send the payment "
                       "header that paid for it, or X-Payer-Signature (personal_sign of "
                       f"'{ownership_message(job.id)}')", "not_job_owner", "id")

    # -- finishing -----------------------------------------------------------------------------
    async def finish(self, job: Job) -> tuple[Job, dict[str, str] | None]:
        """Settle or release an ended job's payment; returns the job as it now stands and the
        receipt headers ({} when nothing to report, None while settlement is still running)."""
        if not job.payment or job.status not in (COMPLETED, FAILED, CANCELED):
            return job, {}
        record = await asyncio.to_thread(self.settlement.finish, job.id)
        until = time.monotonic() + SETTLE_WAIT_SECONDS
        while record is not None and record.status == SETTLING and time.monotonic() < until:
            await asyncio.sleep(SETTLE_POLL_SECONDS)
            record = await asyncio.to_thread(self.settlement.record_of, job)
        current = await asyncio.to_thread(self.settlement.jobs.get, job.id) or job
        if record is None or current.status != COMPLETED:
            return current, {}
        if record.status == SETTLED:
            return current, await asyncio.to_thread(self.gate.settle, record)
        return current, None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = {key.lower(): value for key, value in headers.items()}
    value = lowered.get(name.lower())
    return value.strip() if value and value.strip() else None


def _payload(headers: Mapping[str, str]) -> PaymentPayload | PaymentPayloadV1 | None:
    raw = find_payment_header(headers)
    if raw is None:
        return None
    try:
        payment: PaymentPayload | PaymentPayloadV1 = decode_payment_payload(raw)
    except HeaderDecodeError:
        return None
    return payment


def _personal_signer(message: str, signature: str, payer: str) -> bool:
    try:
        signer = Account.recover_message(encode_defunct(text=message), signature=signature)
    except Exception:  # malformed signatures raise several types
        return False
    return same_address(str(signer), payer)
