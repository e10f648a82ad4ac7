"""The synchronous SDK client."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from tunesmith.client._base import (
    DEFAULT_BASE_URL, DEFAULT_TIMEOUT, PaymentHandler, ProgressCallback, api_root,
    backoff_seconds, generation_body, generation_headers, parse_generation_answer, parse_job,
    payment_proof, refund, should_retry,
)
from tunesmith.client.errors import (
    APIConnectionError, APIStatusError, APITimeoutError, GenerationFailedError, TunesmithError,
    error_for,
)
from tunesmith.client.types import Generation, Job, TrackInfo


class Client:
    """Talks to a tunesmith (or contract-compatible) server.

    >>> with Client("http://127.0.0.1:8000") as c:
    ...     track = c.generate("chill lo-fi hip hop", instrumental=True).data[0]
    ...     c.download(track, "lofi.mp3")
    """

    def __init__(self, base_url: str = DEFAULT_BASE_URL, *,
                 timeout: httpx.Timeout = DEFAULT_TIMEOUT, max_retries: int = 3,
                 poll_interval: float = 2.0, pay: PaymentHandler | None = None,
                 transport: httpx.BaseTransport | None = None,
                 headers: dict[str, str] | None = None):
        self.root = api_root(base_url)
        self.max_retries, self.poll_interval, self.pay = max_retries, poll_interval, pay
        # Payment headers of paid jobs still polled: the server wants them as proof of payer.
        self._proofs: dict[str, dict[str, str]] = {}
        self._http = httpx.Client(timeout=timeout, transport=transport, headers=headers,
                                  follow_redirects=True)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- the API ---------------------------------------------------------------------------------
    def generate(self, prompt: str, *, model: str | None = None, instrumental: bool = False,
                 lyrics: str | None = None, duration_seconds: int = 30, seed: int | None = None,
                 on_progress: ProgressCallback | None = None, idempotency_key: str | None = None,
                 wait_timeout: float = 3600.0) -> Generation:
        """Generate a track and wait for it, polling a 202 job (with progress) if needed."""
        answer = self.create(prompt, model=model, instrumental=instrumental, lyrics=lyrics,
                             duration_seconds=duration_seconds, seed=seed,
                             idempotency_key=idempotency_key, respond_async=on_progress is not None)
        if isinstance(answer, Generation):
            return answer
        return self.wait(answer.id, on_progress=on_progress, timeout=wait_timeout)

    def create(self, prompt: str, *, model: str | None = None, instrumental: bool = False,
               lyrics: str | None = None, duration_seconds: int = 30, seed: int | None = None,
               idempotency_key: str | None = None, respond_async: bool = False
               ) -> Generation | Job:
        """One POST: the finished Generation, or the Job to poll."""
        body = generation_body(prompt, model, instrumental, lyrics, duration_seconds, seed)
        return self.submit(body, idempotency_key=idempotency_key, respond_async=respond_async)

    def submit(self, body: dict[str, Any], *, idempotency_key: str | None = None,
               respond_async: bool = False) -> Generation | Job:
        """POST a request body as given (the router forwards its callers' bodies this way)."""
        headers = generation_headers(idempotency_key, respond_async)
        response = self._request("POST", f"{self.root}/audio/generations", json=body,
                                 headers=headers)
        answer = parse_generation_answer(response)
        proof = payment_proof(response.request.headers)
        if isinstance(answer, Job) and proof:
            self._proofs[answer.id] = proof
        return answer

    def get(self, job_id: str) -> Generation | Job:
        """Poll a job (a paid one with the payment that paid for it)."""
        proof = self._proofs.get(job_id, {})
        response = self._request("GET", f"{self.root}/audio/generations/{job_id}",
                                 headers=proof)
        try:
            state = parse_job(response)
        except GenerationFailedError:
            refund(self.pay, self._proofs.pop(job_id, {}))  # a failed job is not charged
            raise
        if isinstance(state, Generation):
            self._proofs.pop(job_id, None)
        return state

    def wait(self, job_id: str, *, on_progress: ProgressCallback | None = None,
             timeout: float = 3600.0) -> Generation:
        """Poll a job until it completes; raises GenerationFailedError if it fails."""
        until = time.monotonic() + timeout
        while True:
            state = self.get(job_id)
            if isinstance(state, Generation):
                if on_progress:
                    on_progress(1.0, "completed")
                return state
            if on_progress:
                on_progress(state.progress, state.stage)
            if time.monotonic() > until:
                raise APITimeoutError(f"job {job_id} still {state.status} after {timeout:.0f} s")
            time.sleep(self.poll_interval)

    def cancel(self, job_id: str) -> Job:
        """Cancel a job; a canceled paid job is not charged."""
        proof = self._proofs.get(job_id, {})
        response = self._request("DELETE", f"{self.root}/audio/generations/{job_id}",
                                 headers=proof)
        job = Job.from_json(response.json())
        if job.status == "canceled":
            refund(self.pay, self._proofs.pop(job_id, {}))
        return job

    def models(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self._request("GET", f"{self.root}/models").json()["data"]
        return data

    def download(self, track: TrackInfo | str, path: str | Path) -> Path:
        """Stream a track to ``path`` (written whole or not at all)."""
        url = track.url if isinstance(track, TrackInfo) else track
        target = Path(path)
        partial = target.with_name(target.name + ".part")
        try:
            with self._http.stream("GET", url) as response:
                if response.status_code != 200:
                    response.read()
                    raise error_for(response)
                with open(partial, "wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
        except httpx.TransportError as exc:
            partial.unlink(missing_ok=True)
            raise APIConnectionError(f"download of {url} failed: {exc}") from exc
        partial.replace(target)
        return target

    # -- transport -------------------------------------------------------------------------------
    def _request(self, method: str, url: str, allow_pay: bool = True,
                 **kwargs: Any) -> httpx.Response:
        """Send with bounded retries; the same headers (idempotency key) on every try."""
        for attempt in range(self.max_retries + 1):
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.TimeoutException as exc:
                if attempt >= self.max_retries:
                    raise APITimeoutError(f"{method} {url} timed out: {exc}") from exc
                time.sleep(backoff_seconds(attempt))
                continue
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise APIConnectionError(f"cannot reach {url}: {exc}") from exc
                time.sleep(backoff_seconds(attempt))
                continue
            if response.status_code == 402 and self.pay is not None and allow_pay:
                extra = self.pay(response)
                if extra:  # one payment per call, never a second one
                    headers = {**kwargs.pop("headers", {}), **extra}
                    try:
                        return self._request(method, url, allow_pay=False, headers=headers,
                                             **kwargs)
                    except APIStatusError:
                        refund(self.pay, extra)  # the server refused or failed: not charged
                        raise
            if should_retry(response.status_code) and attempt < self.max_retries:
                time.sleep(backoff_seconds(attempt, response))
                continue
            if response.status_code >= 400:
                raise error_for(response)
            return response
        raise TunesmithError("unreachable")  # pragma: no cover
