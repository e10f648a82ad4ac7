"""What the SDK returns: light views over the JSON, with the raw dict kept."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrackInfo:
    url: str
    duration_seconds: int
    lyrics: str | None = None
    id: str | None = None
    seed: int | None = None
    bpm: float | None = None
    key: str | None = None
    style: str | None = None
    expires_at: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> TrackInfo:
        return cls(url=item["url"], duration_seconds=item["duration_seconds"],
                   lyrics=item.get("lyrics"), id=item.get("id"), seed=item.get("seed"),
                   bpm=item.get("bpm"), key=item.get("key"), style=item.get("style"),
                   expires_at=item.get("expires_at"), raw=item)


@dataclass
class Generation:
    """A finished generation: the contract's response."""

    id: str | None
    created: int
    model: str
    data: list[TrackInfo]
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    #: Transaction of the payment (X-Payment-Receipt) and the x402 PAYMENT-RESPONSE, if paid.
    receipt: str | None = None
    payment_response: str | None = field(default=None, repr=False)

    @classmethod
    def from_json(cls, body: dict[str, Any],
                  headers: Mapping[str, str] | None = None) -> Generation:
        headers = headers or {}
        return cls(id=body.get("id"), created=body.get("created", 0), model=body.get("model", ""),
                   data=[TrackInfo.from_json(d) for d in body.get("data", [])], raw=body,
                   receipt=headers.get("X-Payment-Receipt"),
                   payment_response=headers.get("PAYMENT-RESPONSE"))


@dataclass
class Job:
    """A job still running, or as last polled."""

    id: str
    status: str
    progress: float
    stage: str
    poll_url: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Job:
        return cls(id=body["id"], status=body["status"], progress=body.get("progress", 0.0),
                   stage=body.get("stage", ""), poll_url=body.get("poll_url", ""), raw=body)

    @property
    def error_message(self) -> str:
        return str((self.raw.get("error") or {}).get("message", f"job {self.status}"))
