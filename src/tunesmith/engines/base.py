"""The contract between the job runner and every generation engine.

A job hands an engine a :class:`GenerationRequest`, a :class:`Progress` callback and a work
folder; the engine writes one MP3 (44.1 kHz stereo) there and returns a :class:`Track`.
Engines report progress between stages; the callback raises :class:`GenerationCanceled` when
the job was cancelled, so an engine stops at its next stage boundary without extra checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


class EngineError(Exception):
    """A generation failed for a reason the user should read (never internals)."""

    #: HTTP status the API answers with; 500 for engine faults, 400 for inputs it cannot serve.
    status_code: int = 500
    code: str = "generation_failed"
    #: Seconds after which the same request may succeed (answered as Retry-After), if known.
    retry_after: int | None = None


class EngineInputError(EngineError):
    status_code = 400
    code = "invalid_request"


class GenerationCanceled(Exception):
    """Raised by the progress callback when the job was cancelled."""


@dataclass(frozen=True)
class GenerationRequest:
    """What the user asked for, already validated by the API."""

    prompt: str
    model: str
    instrumental: bool = False
    lyrics: str | None = None
    duration_seconds: int = 30
    seed: int = 0


@dataclass(frozen=True)
class Capabilities:
    """What a model can do and what it costs, as listed by ``GET /v1/models``."""

    lyrics: bool
    instrumental: bool
    min_duration_seconds: int = 5
    max_duration_seconds: int = 240
    #: The model honours ``duration_seconds`` exactly (upstreams only take it as a hint).
    exact_duration: bool = True
    price_usd: float = 0.0
    description: str = ""


@dataclass
class Track:
    """One finished track: the MP3 file and what went into it."""

    path: Path
    duration_seconds: float
    seed: int
    lyrics: str | None = None
    #: The interpretation of the prompt: style, bpm, key, time_signature, instruments, sections.
    plan: dict[str, Any] = field(default_factory=dict)


class Progress(Protocol):
    def __call__(self, fraction: float, stage: str) -> None:
        """Report ``fraction`` (0..1) done at ``stage``; raises GenerationCanceled if cancelled."""


class Engine(Protocol):
    """A generation engine; instances are created inside worker processes."""

    model_id: str
    capabilities: Capabilities

    def unavailable_reason(self) -> str | None:
        """None when the engine can run here, else what the operator must configure."""

    def generate(self, request: GenerationRequest, progress: Progress, workdir: Path) -> Track:
        """Make one track in ``workdir``."""


def no_progress(fraction: float, stage: str) -> None:
    """A progress callback that ignores reports (scripts, benchmarks)."""
