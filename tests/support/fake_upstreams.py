"""Fake upstreams on loopback: MiniMax's music API and the vendor's paid gateway.

Each is a small FastAPI app speaking the documented contract (reference/FACTS.md §1-§3),
served by uvicorn in a thread of the test process. A test scripts the next answers
(:class:`Reply`, :class:`GatewayReply`) and reads back what the fake received; the tunesmith
workers reach the fakes over real HTTP from their own processes.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.support.paid import serving
from tests.support.payments import PAY_TO
from tunesmith.audio.codec import write_mp3
from tunesmith.payments import (
    LedgerFacilitator, PaymentError, PaymentGate, PaymentRecords, Reservation, create_tables,
)
from tunesmith.payments.db import make_engine

API_KEY = "sk-test-minimax-0123456789"
AUTO_LYRICS = "[Verse]\nNeon rivers in the rain\n[Chorus]\nWe run, we run again"
TRACK_SECONDS = 3.0


def make_track(path: Path, seconds: float = TRACK_SECONDS) -> bytes:
    """A real stereo 44.1 kHz MP3 of ``seconds``, as bytes the fakes hand out."""
    t = np.arange(int(seconds * 44100)) / 44100
    tone = (0.2 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    return write_mp3(path, np.stack([tone, tone])).read_bytes()


@dataclass
class Reply:
    """One scripted MiniMax answer (the default is a finished track)."""

    code: int = 0             # base_resp.status_code (0: success)
    http_status: int = 200
    delay: float = 0.0        # seconds before answering
    status: int = 2           # data.status: 1 in progress, 2 finished
    retry_after: str | None = None
    audio: bytes | None = None  # replaces the track (garbage audio)


@dataclass
class FakeMiniMax:
    """``/v1/music_generation``, ``/v1/lyrics_generation`` and the CDN its links point to."""

    track: bytes
    music: deque[Reply] = field(default_factory=deque)
    lyrics: deque[Reply] = field(default_factory=deque)
    downloads: deque[Reply] = field(default_factory=deque)
    calls: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)

    def reset(self) -> None:
        for queue in (self.music, self.lyrics, self.downloads):
            queue.clear()
        self.calls.clear()

    def bodies(self, path: str) -> list[dict[str, Any]]:
        """The JSON bodies received on ``path``, in order."""
        return [body for called, body, _ in self.calls if called == path]

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/music_generation")
        async def music(request: Request) -> Response:
            body, reply, early = await self._receive(request, self.music)
            if early is not None:
                return early
            return JSONResponse(self._music_answer(body, reply, str(request.base_url)))

        @app.post("/v1/lyrics_generation")
        async def lyrics(request: Request) -> Response:
            _, _, early = await self._receive(request, self.lyrics)
            if early is not None:
                return early
            return JSONResponse({"song_title": "Neon Rivers", "style_tags": "synthwave",
                                 "lyrics": AUTO_LYRICS, "base_resp": _base(0)})

        @app.get("/cdn/{name}")
        async def cdn(name: str) -> Response:
            reply = self._next(self.downloads)
            await asyncio.sleep(reply.delay)
            if reply.http_status != 200:
                return Response(status_code=reply.http_status)
            return Response(reply.audio or self.track, media_type="audio/mpeg")

        return app

    async def _receive(self, request: Request, queue: deque[Reply]
                       ) -> tuple[dict[str, Any], Reply, Response | None]:
        """Record the call and take its reply; answer auth failures and scripted errors."""
        body = await request.json()
        self.calls.append((request.url.path, body, request.headers.get("authorization", "")))
        reply = self._next(queue)  # taken now: a slow answer must not take a later test's
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return body, reply, JSONResponse({"base_resp": _base(2049, "invalid api key")})
        await asyncio.sleep(reply.delay)
        if reply.http_status != 200:
            headers = {"Retry-After": reply.retry_after} if reply.retry_after else {}
            return body, reply, JSONResponse({"error": "scripted"}, reply.http_status, headers)
        if reply.code:
            return body, reply, JSONResponse({"trace_id": "t-1", "base_resp": _base(reply.code)})
        return body, reply, None

    @staticmethod
    def _next(queue: deque[Reply]) -> Reply:
        return queue.popleft() if queue else Reply()

    def _music_answer(self, body: dict[str, Any], reply: Reply, base: str) -> dict[str, Any]:
        if reply.status == 1:
            return {"data": {"audio": "", "status": 1}, "base_resp": _base(0)}
        audio = reply.audio or self.track
        if body.get("output_format") == "url":
            name = f"{secrets.token_hex(6)}.mp3"
            value = f"{base}cdn/{name}"
            if reply.audio is not None:
                self.downloads.appendleft(Reply(audio=reply.audio))
        else:
            value = audio.hex()
        return {"data": {"audio": value, "status": 2}, "trace_id": "t-1",
                "extra_info": {"music_duration": int(TRACK_SECONDS * 1000),
                               "music_sample_rate": 44100, "music_channel": 2,
                               "bitrate": 256000, "music_size": len(audio)},
                "base_resp": _base(0)}


def _base(code: int, message: str | None = None) -> dict[str, Any]:
    return {"status_code": code, "status_msg": message or ("success" if code == 0 else
                                                           f"upstream says {code}")}


# -- the vendor gateway --------------------------------------------------------------------------
@dataclass
class GatewayReply:
    """One scripted gateway answer to a generation request."""

    kind: str = "sync"        # sync: 200 at once; async: 202, then polls; fail: 202, then failed
    polls: int = 1            # in-progress polls before the end (async, fail)
    http_status: int = 200    # an error answered before any payment is asked for
    retry_after: str | None = None
    error_type: str = "server_error"
    message: str = "scripted failure"


@dataclass
class GatewayJob:
    body: dict[str, Any]
    reply: GatewayReply
    reservation: Reservation
    polls: int = 0
    status: str = "queued"


class FakeGateway:
    """The vendor's ``/api/v1/audio/generations``: x402 v2, 200 or 202 + polling, a CDN."""

    def __init__(self, data_dir: Path, track: bytes, price_usd: str = "0.1575"):
        data_dir.mkdir(parents=True, exist_ok=True)
        self.track, self.price = track, price_usd
        self.ledger = LedgerFacilitator(f"sqlite:///{data_dir / 'gateway-ledger.db'}")
        records_db = make_engine(f"sqlite:///{data_dir / 'gateway-records.db'}")
        create_tables(records_db)
        models = ("minimax/music-2.5+", "minimax/music-2.6", "minimax/music-2.0")
        self.gate = PaymentGate(pay_to=PAY_TO, network="eip155:8453",
                                prices={m: price_usd for m in models}, facilitator=self.ledger,
                                records=PaymentRecords(records_db))
        self.replies: deque[GatewayReply] = deque()
        self.jobs: dict[str, GatewayJob] = {}
        self.posts: list[dict[str, Any]] = []
        self.canceled: list[str] = []
        self._lock = threading.Lock()

    def reset(self) -> None:
        self.replies.clear()
        self.posts.clear()
        self.canceled.clear()

    def app(self) -> FastAPI:
        app = FastAPI()
        app.post("/api/v1/audio/generations")(self._create)
        app.get("/api/v1/audio/generations/{job_id}")(self._poll)
        app.delete("/api/v1/audio/generations/{job_id}")(self._cancel)

        @app.get("/cdn/{name}")
        async def cdn(name: str) -> Response:
            return Response(self.track, media_type="audio/mpeg")

        return app

    async def _create(self, request: Request) -> Response:
        body = await request.json()
        self.posts.append({"body": body, "headers": dict(request.headers)})
        reply = self.replies[0] if self.replies else GatewayReply()
        if reply.http_status != 200:
            headers = {"Retry-After": reply.retry_after} if reply.retry_after else {}
            return JSONResponse({"error": {"message": reply.message, "type": reply.error_type,
                                           "code": "scripted"}}, reply.http_status, headers)
        resource = str(request.url)
        model = body.get("model", "minimax/music-2.5+")
        try:
            reservation = self.gate.accept(request.headers, resource, model)
        except PaymentError as exc:
            status, headers, challenge = self.gate.challenge(resource, model, str(exc))
            return JSONResponse(challenge, status, headers)
        if self.replies:
            self.replies.popleft()
        if reply.kind == "sync":
            receipt = self.gate.settle(reservation)
            return JSONResponse(self._completed(body, request), headers=receipt)
        job_id = f"gen_{secrets.token_hex(6)}"
        self.jobs[job_id] = GatewayJob(body, reply, reservation)
        return JSONResponse(self._job_view(job_id, request), 202,
                            {"Location": self._poll_url(job_id, request)})

    async def _poll(self, job_id: str, request: Request) -> Response:
        job = self.jobs[job_id]
        with self._lock:
            if job.status in ("queued", "in_progress"):
                job.polls += 1
                if job.polls > job.reply.polls:
                    job.status = "failed" if job.reply.kind == "fail" else "completed"
                    if job.status == "failed":
                        self.gate.release(job.reservation, "scripted failure")
                    else:
                        self.gate.settle(job.reservation)
                else:
                    job.status = "in_progress"
        if job.status == "completed":
            return JSONResponse({**self._job_view(job_id, request),
                                 **self._completed(job.body, request)})
        return JSONResponse(self._job_view(job_id, request))

    async def _cancel(self, job_id: str, request: Request) -> Response:
        job = self.jobs[job_id]
        with self._lock:
            if job.status in ("queued", "in_progress"):
                job.status = "canceled"
                self.gate.release(job.reservation, "canceled")
                self.canceled.append(job_id)
        return JSONResponse(self._job_view(job_id, request))

    def _completed(self, body: dict[str, Any], request: Request) -> dict[str, Any]:
        item: dict[str, Any] = {"url": f"{request.base_url}cdn/{secrets.token_hex(6)}.mp3",
                                "duration_seconds": 186}
        if not body.get("instrumental"):
            item["lyrics"] = body.get("lyrics") or AUTO_LYRICS
        return {"created": 1775488202, "model": body.get("model"), "data": [item],
                "status": "completed"}

    def _job_view(self, job_id: str, request: Request) -> dict[str, Any]:
        job = self.jobs[job_id]
        view: dict[str, Any] = {"id": job_id, "object": "audio.generation.job",
                                "status": job.status, "model": job.body.get("model"),
                                "created": 1775488202, "progress": 0.5 if job.polls else 0.0,
                                "stage": job.status, "poll_url": self._poll_url(job_id, request)}
        if job.status == "failed":
            view["error"] = {"message": job.reply.message, "type": job.reply.error_type,
                             "code": "scripted"}
        return view

    @staticmethod
    def _poll_url(job_id: str, request: Request) -> str:
        return f"{request.base_url}api/v1/audio/generations/{job_id}"


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """Serve a fake on a free loopback port; yields its base URL."""
    with serving(app) as url:
        yield url


# -- an SGLang-Omni server running MiniMax Music 3 (MiniMax's self-host recipe) ---------------
@dataclass
class SpeechReply:
    """One scripted answer to ``POST /v1/audio/speech`` (the default is a WAV of the frames)."""

    http_status: int = 200
    seconds: float | None = None  # the audio's length; default: max_new_tokens at 25 frames/s
    body: bytes | None = None     # replaces the WAV (garbage audio)
    delay: float = 0.0


@dataclass
class FakeSGLangOmni:
    """OpenAI-style speech route answering a stereo WAV at 48 kHz, different per seed."""

    replies: deque[SpeechReply] = field(default_factory=deque)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    rate: int = 48000

    def reset(self) -> None:
        self.replies.clear()
        self.bodies.clear()
        self.authorizations.clear()

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/audio/speech")
        async def speech(request: Request) -> Response:
            body = await request.json()
            self.bodies.append(body)
            self.authorizations.append(request.headers.get("authorization", ""))
            reply = self.replies.popleft() if self.replies else SpeechReply()
            await asyncio.sleep(reply.delay)
            if reply.http_status != 200:
                return JSONResponse({"error": {"message": "scripted"}}, reply.http_status)
            if reply.body is not None:
                return Response(reply.body, media_type="audio/wav")
            seconds = reply.seconds if reply.seconds is not None \
                else body["max_new_tokens"] / 25
            return Response(self._wav(seconds, int(body.get("seed", 0))),
                            media_type="audio/wav")

        return app

    def _wav(self, seconds: float, seed: int) -> bytes:
        import io

        import soundfile

        rng = np.random.default_rng(seed)
        t = np.arange(int(seconds * self.rate)) / self.rate
        tone = 0.3 * np.sin(2 * np.pi * rng.uniform(200, 400) * t)
        buffer = io.BytesIO()
        soundfile.write(buffer, np.stack([tone, tone * 0.8], axis=1), self.rate, format="WAV")
        return buffer.getvalue()
