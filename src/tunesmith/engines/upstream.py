"""What the upstream engines share: long-timeout HTTP, failures as data, bounded retries, and
turning an upstream answer into a local, measured MP3.

    EngineError (engines.base)
    └── UpstreamError   an upstream failure, already mapped to the status our API answers
                        .retryable: worth another attempt (rate limit, transient fault)
                        .retry_after: what our caller is told to wait (Retry-After)
                        .wait: what the upstream itself asked us to wait, when it said

Messages are written for our callers: they never carry upstream internals, URLs or keys.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tunesmith.audio.codec import AudioFormatError, duration_seconds
from tunesmith.config import Settings
from tunesmith.engines.base import EngineError, Progress

log = logging.getLogger("tunesmith.upstream")

T = TypeVar("T")

ATTEMPTS = 3
FIRST_BACKOFF_SECONDS = 0.5
#: An upstream asking us to wait longer than this is not retried here: the caller is told.
MAX_BACKOFF_SECONDS = 8.0
#: Retry-After for a rate limit when the upstream did not say how long.
RATE_LIMIT_RETRY_AFTER = 20
#: The largest audio file we accept (a 5 min MP3 at 256 kbps is ~10 MB).
MAX_AUDIO_BYTES = 64 * 1024 * 1024
PROGRESS_EVERY_SECONDS = 2.0


class UpstreamError(EngineError):
    """An upstream failure as our API reports it."""

    def __init__(self, message: str, *, status_code: int, code: str, retryable: bool = False,
                 retry_after: int | None = None, wait: float | None = None):
        super().__init__(message)
        self.status_code, self.code, self.retryable, self.wait = status_code, code, retryable, wait
        if retry_after is None and wait is not None:
            retry_after = max(1, math.ceil(wait))
        if retry_after is None and status_code == 429:
            retry_after = RATE_LIMIT_RETRY_AFTER
        self.retry_after = retry_after


@dataclass(frozen=True)
class Failure:
    """One kind of upstream failure: the status, code and message our caller gets."""

    status: int
    code: str
    message: str
    retryable: bool = False
    retry_after: int | None = None

    def error(self, detail: str = "", wait: float | None = None) -> UpstreamError:
        """The exception; ``detail`` fills a ``{detail}`` slot (only in 400-class messages)."""
        message = self.message.format(detail=detail.strip()[:300] or "no detail given")
        return UpstreamError(message, status_code=self.status, code=self.code,
                             retryable=self.retryable, retry_after=self.retry_after, wait=wait)


UNREACHABLE = Failure(502, "upstream_unreachable",
                      "the upstream music service could not be reached; retry the request",
                      retryable=True)
TIMED_OUT = Failure(504, "upstream_timeout",
                    "the upstream music service did not finish in time; retry the request")
RATE_LIMITED = Failure(429, "rate_limited",
                       "the upstream music service is rate limiting this server; retry later",
                       retryable=True)
CREDENTIALS = Failure(503, "upstream_unavailable",
                      "the upstream music service refused this server's credentials; the "
                      "operator must fix the configuration. Try another model meanwhile")
FAULT = Failure(502, "upstream_error",
                "the upstream music service failed to generate this track; retry the request",
                retryable=True)
REJECTED = Failure(502, "upstream_error",
                   "the upstream music service rejected the request; retry it or try another "
                   "model")
BAD_ANSWER = Failure(502, "upstream_bad_response",
                     "the upstream music service sent an answer this server cannot use; retry "
                     "the request")
BAD_AUDIO = Failure(502, "upstream_bad_audio",
                    "the upstream music service sent audio this server cannot read; retry the "
                    "request")

#: HTTP statuses of an upstream answer (or download), mapped to what our caller gets.
HTTP_FAILURES: dict[int, Failure] = {
    401: CREDENTIALS, 402: CREDENTIALS, 403: CREDENTIALS,
    408: Failure(504, "upstream_timeout", TIMED_OUT.message, retryable=True),
    429: RATE_LIMITED,
    500: FAULT, 502: FAULT, 503: FAULT,
    504: Failure(504, "upstream_timeout", TIMED_OUT.message, retryable=True),
}


def http_failure(response: httpx.Response) -> UpstreamError:
    """The error for an upstream answer with an HTTP error status."""
    failure = HTTP_FAILURES.get(response.status_code)
    if failure is None:
        failure = FAULT if response.status_code >= 500 else REJECTED
    return failure.error(wait=retry_after_header(response))


def retry_after_header(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header given in seconds (dates are ignored)."""
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


# -- HTTP ------------------------------------------------------------------------------------
def timeout(settings: Settings) -> httpx.Timeout:
    """Connect fast, but let a generation take up to ``upstream_timeout_seconds`` to answer."""
    limit = settings.upstream_timeout_seconds
    return httpx.Timeout(connect=min(10.0, limit), read=limit, write=min(60.0, limit),
                         pool=min(10.0, limit))


def http_client(settings: Settings) -> httpx.Client:
    """A client without credentials: each call adds its own, so downloads never carry them."""
    return httpx.Client(timeout=timeout(settings), follow_redirects=True,
                        headers={"User-Agent": "tunesmith"})


def post_json(http: httpx.Client, url: str, body: dict[str, Any],
              headers: dict[str, str]) -> dict[str, Any]:
    """POST JSON and return the JSON object answered; transport and HTTP errors mapped."""
    try:
        response = http.post(url, json=body, headers=headers)
    except httpx.TimeoutException as exc:
        # Not retried: the upstream may still finish (and bill) the first attempt.
        raise TIMED_OUT.error() from exc
    except httpx.TransportError as exc:
        raise UNREACHABLE.error() from exc
    if response.status_code >= 400:
        raise http_failure(response)
    try:
        answer = response.json()
    except ValueError as exc:
        raise BAD_ANSWER.error() from exc
    if not isinstance(answer, dict):
        raise BAD_ANSWER.error()
    return answer


# -- retries ---------------------------------------------------------------------------------
def backoff_seconds(attempt: int) -> float:
    """Jittered exponential backoff: ~0.5 s, ~1 s, ~2 s ..."""
    base = min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2**attempt)
    return base * (0.5 + random.random() / 2)


def with_retries(call: Callable[[], T], attempts: int = ATTEMPTS,
                 sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``call``, again after a backoff while it fails with a retryable UpstreamError."""
    for attempt in range(attempts):
        try:
            return call()
        except UpstreamError as exc:
            pause = exc.wait if exc.wait is not None else backoff_seconds(attempt)
            if not exc.retryable or attempt + 1 >= attempts or pause > MAX_BACKOFF_SECONDS:
                raise
            log.info("upstream %s, retrying in %.1f s", exc.code, pause)
            sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover


def wait_with_progress(call: Callable[[], T], progress: Progress, start: float, end: float,
                       stage: str, expected_seconds: float) -> T:
    """Run a long blocking ``call`` in a thread, reporting progress (and so cancel) meanwhile.

    Progress creeps from ``start`` towards ``end`` over ``expected_seconds``; a cancel or
    deadline raised by ``progress`` ends the wait (the abandoned call finishes on its own).
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the waiting thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True, name=f"upstream-{stage}")
    began = time.monotonic()
    thread.start()
    while True:
        thread.join(PROGRESS_EVERY_SECONDS)
        if not thread.is_alive():
            break
        share = min(0.95, (time.monotonic() - began) / expected_seconds)
        progress(start + (end - start) * share, stage)
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value


# -- audio -----------------------------------------------------------------------------------
def download(http: httpx.Client, url: str, dest: Path) -> Path:
    """Fetch the upstream's audio file to ``dest`` at once (retrying transient failures)."""
    if not url.startswith(("https://", "http://")):
        raise BAD_ANSWER.error()
    return with_retries(lambda: _download_once(http, url, dest))


def _download_once(http: httpx.Client, url: str, dest: Path) -> Path:
    partial = dest.with_name(dest.name + ".part")
    try:
        with http.stream("GET", url) as response:
            if response.status_code != 200:
                response.read()
                raise _download_failure(response)
            _write_limited(response.iter_bytes(), partial)
    except httpx.TimeoutException as exc:
        raise Failure(504, "upstream_timeout", TIMED_OUT.message, retryable=True).error() from exc
    except httpx.TransportError as exc:
        raise UNREACHABLE.error() from exc
    partial.replace(dest)
    return dest


def _download_failure(response: httpx.Response) -> UpstreamError:
    if response.status_code in (403, 404, 410):  # expired or missing link: nothing to retry
        return BAD_ANSWER.error()
    return http_failure(response)


def _write_limited(chunks: Any, path: Path) -> None:
    size = 0
    with open(path, "wb") as out:
        for chunk in chunks:
            size += len(chunk)
            if size > MAX_AUDIO_BYTES:
                raise BAD_AUDIO.error()
            out.write(chunk)


def write_hex(audio_hex: str, dest: Path) -> Path:
    """Write audio the upstream sent inline as hex."""
    if len(audio_hex) > 2 * MAX_AUDIO_BYTES:
        raise BAD_AUDIO.error()
    try:
        dest.write_bytes(bytes.fromhex(audio_hex))
    except ValueError as exc:
        raise BAD_ANSWER.error() from exc
    return dest


def measure(path: Path) -> float:
    """The real playing length of a downloaded MP3; BAD_AUDIO when it is not one."""
    try:
        seconds = duration_seconds(path)
    except (AudioFormatError, OSError, ValueError) as exc:
        raise BAD_AUDIO.error() from exc
    if not seconds > 0:
        raise BAD_AUDIO.error()
    return seconds


def duration_hint(prompt: str, seconds: int, limit: int) -> str:
    """The prompt with the requested length appended as a hint, kept within ``limit`` chars."""
    hint = f". Length: about {seconds} seconds."
    return prompt.rstrip(" .")[: limit - len(hint)] + hint
