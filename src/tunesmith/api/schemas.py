"""The wire contract: the request body and the shapes of every response."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationInfo, field_validator

MAX_PROMPT_CHARS = 2000
MAX_LYRICS_CHARS = 3500
MIN_DURATION, MAX_DURATION, DEFAULT_DURATION = 5, 240, 30
MAX_SEED = 2**32 - 1


class GenerationBody(BaseModel):
    """``POST /v1/audio/generations``: the contract's fields plus ``seed``; unknown keys ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = Field(None, max_length=200, description="Model id (GET /v1/models).")
    prompt: str = Field(..., description="Music style, mood or description (1-2000 chars).")
    instrumental: StrictBool = Field(False, description="No vocals.")
    lyrics: str | None = Field(None, description="Lyrics to sing (<= 3500 chars).")
    duration_seconds: int = Field(DEFAULT_DURATION, ge=MIN_DURATION, le=MAX_DURATION,
                                  description="Track length, 5-240 s.")
    seed: int | None = Field(None, description="Same request + seed = same track.")

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("prompt must describe the music (1-2000 characters), not be empty")
        if len(value) > MAX_PROMPT_CHARS:
            raise ValueError(f"prompt is {len(value)} characters; the limit is {MAX_PROMPT_CHARS}")
        return value

    @field_validator("lyrics")
    @classmethod
    def _lyrics(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if info.data.get("instrumental"):
            raise ValueError("lyrics cannot be combined with instrumental: true; drop one of them")
        if not value.strip():
            raise ValueError("lyrics are empty; send words to sing or leave lyrics out")
        if len(value) > MAX_LYRICS_CHARS:
            raise ValueError(f"lyrics are {len(value)} characters; the limit is {MAX_LYRICS_CHARS}")
        return value

    @field_validator("duration_seconds", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(
                f"must be a whole number of seconds from {MIN_DURATION} to {MAX_DURATION}")
        if isinstance(value, (int, float)) and not MIN_DURATION <= value <= MAX_DURATION:
            raise ValueError(
                f"{value} is out of range; use {MIN_DURATION} to {MAX_DURATION} seconds")
        return value

    @field_validator("seed", mode="before")
    @classmethod
    def _seed(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
            raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED}")
        return value

    def engine_request(self) -> dict[str, Any]:
        """The fields stored with the job and handed to the engine."""
        return {"prompt": self.prompt, "instrumental": self.instrumental, "lyrics": self.lyrics,
                "duration_seconds": self.duration_seconds}


class TrackData(BaseModel):
    """One item of ``data``: the contract's fields first, our extensions after."""

    url: str
    duration_seconds: int
    lyrics: str | None = None
    id: str
    duration_ms: int
    seed: int
    expires_at: int
    style: str | None = None
    bpm: float | None = None
    key: str | None = None
    time_signature: str | None = None
    instruments: list[str] | None = None
    sections: list[dict[str, Any]] | None = None
    #: The singing: voice, sung sections, and a note when lyrics had to be cut to fit.
    vocal: dict[str, Any] | None = None


class GenerationResponse(BaseModel):
    created: int
    model: str
    data: list[TrackData]
    id: str
    object: str = "audio.generation"
    status: str = "completed"


class JobError(BaseModel):
    message: str
    type: str
    code: str


class JobResponse(BaseModel):
    id: str
    object: str = "audio.generation.job"
    status: str
    model: str
    created: int
    poll_url: str
    events_url: str
    progress: float
    stage: str
    queue_position: int | None = None
    data: list[TrackData] | None = None
    error: JobError | None = None
