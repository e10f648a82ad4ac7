"""NeuralEngine: our contract on one open-weights model loaded from a local folder.

The worker that holds the model builds it and calls :meth:`NeuralEngine.load` once at start;
every job then runs on the resident pipeline. Requests are mapped per pipeline (lyrics the
lyricist writes when a vocal model gets none, ``[Instrumental]`` for ACE-Step, a seeded
CPU generator), denoising steps report progress (and so cancel and deadlines stop a run
between steps), and the waveform goes through the composer's master and encoder.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunesmith.audio.codec import duration_seconds
from tunesmith.config import Settings
from tunesmith.engines.base import (
    Capabilities,
    EngineError,
    EngineInputError,
    GenerationRequest,
    Progress,
    Track,
)
from tunesmith.engines.neural import catalog, composer_parts
from tunesmith.engines.neural.finish import finish

if TYPE_CHECKING:
    from tunesmith.engines.neural.pipelines import LoadedPipeline

log = logging.getLogger("tunesmith.neural")

#: How often step progress reaches the job table (each report is a write and a cancel check).
REPORT_EVERY_SECONDS = 0.25
#: MiniMax Music 3 takes its duration as an upper bound: ask this much more, then cut.
PLANNER_MARGIN_SECONDS = 1.0
DENOISE_START, DENOISE_END = 0.05, 0.88


class ModelUnavailable(EngineError):
    status_code = 503
    code = "model_unavailable"


@dataclass
class Timing:
    """Where the last job's time went, in seconds (read by bench/neural_bench.py)."""

    pipeline: float = 0.0
    finishing: float = 0.0
    total: float = 0.0


class NeuralEngine:
    """One local model (``TUNESMITH_LOCAL_MODELS``) behind the Engine protocol."""

    def __init__(self, settings: Settings, model_id: str):
        self.settings, self.model_id = settings, model_id
        self.model = settings.local_models[model_id]
        self.spec = catalog.PIPELINES[self.model.pipeline]
        self.capabilities: Capabilities = self.spec.capabilities(self.model)
        self.pipeline: LoadedPipeline | None = None
        self.load_error: str | None = None
        self.timing = Timing()

    def unavailable_reason(self) -> str | None:
        return self.load_error or catalog.unavailable_reason(self.model_id, self.model)

    def load(self) -> bool:
        """Load the weights (once); False, with :attr:`load_error` saying why, if it fails."""
        if self.pipeline is not None:
            return True
        self.load_error = catalog.unavailable_reason(self.model_id, self.model)
        if self.load_error is None:
            self.load_error = self._load()
        return self.pipeline is not None

    def _load(self) -> str | None:
        began = time.monotonic()
        try:
            from tunesmith.engines.neural.pipelines import load

            self.pipeline = load(self.model)
        except Exception as exc:  # the operator reads why, the worker lives on
            log.exception("loading %s from %s failed", self.model_id, self.model.path)
            first = (str(exc).splitlines() or [""])[0][:200]
            return (f"{self.model_id} could not be loaded from {self.model.path} on "
                    f"{self.model.device} ({type(exc).__name__}: {first})")
        log.info("%s loaded from %s on %s in %.1f s", self.model_id, self.model.path,
                 self.model.device, time.monotonic() - began)
        return None

    def close(self) -> None:
        """Release the weights and the device memory they held."""
        if self.pipeline is not None:
            self.pipeline.release()
            self.pipeline = None

    def generate(self, request: GenerationRequest, progress: Progress, workdir: Path) -> Track:
        """One track of exactly ``request.duration_seconds`` from the resident pipeline."""
        began = time.monotonic()
        self.check(request)
        if not self.load():
            raise ModelUnavailable(f"model '{self.model_id}' is not available here: "
                                   f"{self.load_error}")
        lyrics = self._lyrics(request, progress)
        progress(DENOISE_START, "denoising")
        audio, rate = self._run(request, lyrics, progress)
        progress(DENOISE_END + 0.02, "mastering")
        finishing = time.monotonic()
        path = finish(audio, rate, request.duration_seconds, workdir / "track.mp3")
        now = time.monotonic()
        self.timing.finishing, self.timing.total = now - finishing, now - began
        return Track(path=path, duration_seconds=duration_seconds(path), seed=request.seed,
                     lyrics=lyrics, plan={})

    def check(self, request: GenerationRequest) -> None:
        """400s for what this model cannot do (the API checks them too, before queueing)."""
        caps, title = self.capabilities, self.spec.title
        if request.instrumental and not caps.instrumental:
            raise EngineInputError(f"{title} always sings: send lyrics (or none, and lyrics "
                                   "are written for you) without instrumental, or pick a "
                                   "model that supports_instrumental")
        if request.lyrics is not None and not caps.lyrics:
            raise EngineInputError(f"{title} cannot sing lyrics; send instrumental: true or "
                                   "pick a model that supports_lyrics")
        if not caps.min_duration_seconds <= request.duration_seconds <= \
                caps.max_duration_seconds:
            raise EngineInputError(f"{title} makes {caps.min_duration_seconds}-"
                                   f"{caps.max_duration_seconds} s tracks; ask for a "
                                   "duration_seconds in that range")

    def _lyrics(self, request: GenerationRequest, progress: Progress) -> str | None:
        """The words to sing: the caller's, else our lyricist's; None for no vocals."""
        if request.instrumental or not self.spec.lyrics:
            return None
        if request.lyrics is not None:
            return request.lyrics
        progress(0.02, "writing lyrics")
        return composer_parts.write_lyrics(request.prompt, request.seed,
                                           request.duration_seconds)

    def _run(self, request: GenerationRequest, lyrics: str | None,
             progress: Progress) -> tuple[Any, int]:
        import torch

        from tunesmith.engines.neural.pipelines import Run

        assert self.pipeline is not None
        seconds = max(float(request.duration_seconds), self.spec.min_generate_seconds)
        if self.model.pipeline == "minimax-music-3":
            seconds += PLANNER_MARGIN_SECONDS
        run = Run(prompt=request.prompt, lyrics=lyrics, instrumental=request.instrumental,
                  seconds=seconds, generator=torch.Generator("cpu").manual_seed(request.seed),
                  on_step=StepReporter(progress), steps=self.model.steps,
                  guidance_scale=self.model.guidance_scale,
                  negative_prompt=self.model.negative_prompt)
        began = time.monotonic()
        try:
            audio, rate = self.pipeline.generate(run)
        except torch.OutOfMemoryError as exc:
            raise ModelUnavailable(f"{self.model_id} ran out of device memory for this track; "
                                   "retry with a shorter duration_seconds") from exc
        finally:
            self.timing.pipeline = time.monotonic() - began
        return audio, rate


class StepReporter:
    """Turns (done, total) steps into job progress, at most every REPORT_EVERY_SECONDS.

    The job's progress callback raises on cancel or deadline; raised here, inside the
    pipeline's step callback, it stops the pipeline between two steps.
    """

    def __init__(self, progress: Progress, clock: Any = time.monotonic):
        self.progress, self.clock = progress, clock
        self.last = float("-inf")

    def __call__(self, done: float, total: float) -> None:
        now = self.clock()
        if now - self.last < REPORT_EVERY_SECONDS and done < total:
            return
        self.last = now
        share = min(1.0, done / total) if total else 0.0
        self.progress(DENOISE_START + (DENOISE_END - DENOISE_START) * share, "denoising")
