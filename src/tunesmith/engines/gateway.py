"""The ``minimax/*`` models through the vendor's paid gateway (``TUNESMITH_GATEWAY_URL``).

The gateway speaks the contract we serve ourselves, so this engine is a client of it: the
SDK's :class:`~tunesmith.client.Client` pays the 402 from the operator's wallet within its
spend caps (one payment per track, reused across retries, refunded to the caps when the
gateway fails), follows the ``202`` job by polling, and the track is downloaded at once and
stored like any other.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tunesmith.client import Client
from tunesmith.client.errors import (
    APIStatusError, APITimeoutError, GenerationFailedError, SpendCapExceeded, TunesmithError,
)
from tunesmith.client.payment import pay_with
from tunesmith.client.types import Generation, Job
from tunesmith.config import Settings
from tunesmith.engines import upstream
from tunesmith.engines.base import Capabilities, GenerationRequest, Progress, Track
from tunesmith.engines.registry import UPSTREAM
from tunesmith.engines.upstream import (
    BAD_ANSWER, CREDENTIALS, FAULT, HTTP_FAILURES, TIMED_OUT, UNREACHABLE, Failure,
    UpstreamError,
)
from tunesmith.payments import NoSupportedRequirement, SpendPolicy, Wallet, WalletError

log = logging.getLogger("tunesmith.gateway")

RETRIES = 2
CANNOT_PAY = Failure(503, "upstream_unavailable",
                     "this server cannot pay the upstream music service right now; retry "
                     "later or try another model")
#: A failed gateway job's error type, mapped to what our caller gets.
JOB_FAILURES: dict[str, Failure] = {
    "rate_limit_error": HTTP_FAILURES[429],
    "timeout_error": TIMED_OUT,
    "invalid_request_error": Failure(400, "invalid_request", "the upstream music service "
                                     "refused the request: {detail}"),
}


class GatewayEngine:
    """``minimax/<name>`` bought per track from the vendor's gateway with x402."""

    model_id = "minimax/music-2.5+"
    capabilities: Capabilities = UPSTREAM

    def __init__(self, settings: Settings):
        self.settings = settings
        self.http = upstream.http_client(settings)

    def unavailable_reason(self) -> str | None:
        return None if self.settings.gateway_url else "set TUNESMITH_GATEWAY_URL"

    def generate(self, request: GenerationRequest, progress: Progress, workdir: Path) -> Track:
        """Buy the track from the gateway, then download and measure it in ``workdir``."""
        progress(0.02, "paying upstream")
        try:
            with self._client() as client:
                done = self._generation(client, request, progress)
        except TunesmithError as exc:
            raise mapped(exc) from exc
        except NoSupportedRequirement as exc:  # a 402 offering nothing this wallet can pay
            log.error("cannot pay the gateway: %s", exc)
            raise CANNOT_PAY.error() from exc
        except (ValueError, KeyError, TypeError) as exc:  # an answer off the contract
            log.error("the gateway answered off the contract: %r", exc)
            raise BAD_ANSWER.error() from exc
        if not done.data:
            raise BAD_ANSWER.error()
        item = done.data[0]
        progress(0.9, "downloading")
        path = upstream.download(self.http, item.url, workdir / "track.mp3")
        return Track(path=path, duration_seconds=upstream.measure(path), seed=request.seed,
                     lyrics=item.lyrics or request.lyrics, plan={})

    def _client(self) -> Client:
        try:
            wallet = Wallet.from_settings(self.settings)
        except (WalletError, OSError, ValueError) as exc:
            log.error("gateway wallet cannot be loaded: %s", exc)
            raise CANNOT_PAY.error() from exc
        payer = pay_with(wallet, SpendPolicy.from_settings(self.settings))
        return Client(self.settings.gateway_url or "", timeout=upstream.timeout(self.settings),
                      max_retries=RETRIES, poll_interval=self.settings.gateway_poll_seconds,
                      pay=payer)

    def _generation(self, client: Client, request: GenerationRequest,
                    progress: Progress) -> Generation:
        answer = client.create(request.prompt, model=request.model,
                               instrumental=request.instrumental, lyrics=request.lyrics,
                               duration_seconds=request.duration_seconds, respond_async=True)
        if isinstance(answer, Generation):
            return answer
        return self._follow(client, answer, progress)

    def _follow(self, client: Client, job: Job, progress: Progress) -> Generation:
        """Poll the gateway's job to its end; cancel it there if ours ends first."""

        def report(fraction: float, stage: str) -> None:
            progress(0.05 + 0.85 * fraction, f"upstream {stage}")

        try:
            return client.wait(job.id, on_progress=report,
                               timeout=self.settings.upstream_timeout_seconds)
        except GenerationFailedError:
            raise  # ended there: nothing to cancel, nothing charged
        except BaseException:  # too slow, unreachable, canceled here, worker stopping
            _cancel_quietly(client, job.id)
            raise


def _cancel_quietly(client: Client, job_id: str) -> None:
    """Cancel the gateway job (it is then not charged); never hides the original reason."""
    try:
        client.cancel(job_id)
    except Exception as exc:  # best effort
        log.warning("could not cancel gateway job %s: %s", job_id, exc)


def mapped(exc: TunesmithError) -> UpstreamError:
    """The error our caller gets for an SDK error from the gateway."""
    if isinstance(exc, SpendCapExceeded):
        log.error("gateway payment refused by the spend caps: %s", exc)
        return CANNOT_PAY.error()
    if isinstance(exc, GenerationFailedError):
        return _job_failure(exc.job.raw.get("error") or {})
    if isinstance(exc, APIStatusError):
        return _status_failure(exc)
    if isinstance(exc, APITimeoutError):
        return TIMED_OUT.error()
    return UNREACHABLE.error()


def _status_failure(exc: APIStatusError) -> UpstreamError:
    status = exc.status_code
    if status == 402:
        log.error("the gateway refused our payment: %s", exc.message)
        return CANNOT_PAY.error()
    if status == 400:
        return JOB_FAILURES["invalid_request_error"].error(_message(exc.body))
    if status in (401, 403):
        return CREDENTIALS.error()
    failure = HTTP_FAILURES.get(status, FAULT)
    return failure.error(wait=exc.retry_after)


def _job_failure(error: dict[str, Any]) -> UpstreamError:
    failure = JOB_FAILURES.get(str(error.get("type")), FAULT)
    return failure.error(str(error.get("message") or ""))


def _message(body: Any) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("message") or "") if isinstance(error, dict) else ""
