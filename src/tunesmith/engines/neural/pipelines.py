"""Each diffusers pipeline behind one small interface: load a folder, make one waveform.

A :class:`Run` carries what the contract asked for, already mapped (the lyrics to sing, the
seconds to generate, a seeded generator) and ``on_step(done, total)``, called between
denoising steps (and, for MiniMax Music 3, between generated frames). Raising from
``on_step`` aborts the pipeline there: that is how cancel and deadlines stop a run.
Everything here runs in the worker that holds the model; torch is imported only here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import diffusers
import numpy as np
import torch

from tunesmith.config import LocalModel
from tunesmith.engines.neural.catalog import PIPELINES, PipelineSpec

StepReport = Callable[[float, float], None]

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
#: What ACE-Step reads as "no vocals" in place of lyrics.
ACE_INSTRUMENTAL = "[Instrumental]"


@dataclass
class Run:
    """One generation, in the pipeline's terms."""

    prompt: str
    lyrics: str | None
    instrumental: bool
    seconds: float
    generator: torch.Generator
    on_step: StepReport
    steps: int | None = None
    guidance_scale: float | None = None
    negative_prompt: str | None = None


class LoadedPipeline(Protocol):
    spec: PipelineSpec

    def generate(self, run: Run) -> tuple[np.ndarray, int]:
        """The waveform (channels, samples) and its sample rate."""

    def release(self) -> None:
        """Drop the weights (the worker is stopping)."""


def load(model: LocalModel) -> LoadedPipeline:
    """Load ``model`` from its folder onto its device; raises what went wrong."""
    if model.threads:
        torch.set_num_threads(model.threads)
    if model.device.startswith("cuda") and not _cuda_has(model.device):
        raise RuntimeError(f"torch sees no GPU {model.device} on this machine")
    loader: Any = {"stable-audio-3": StableAudio3, "ace-step-1.5": AceStep,
                   "minimax-music-3": MiniMaxMusic3,
                   "stable-audio-open": StableAudioOpen}[model.pipeline]
    return loader.from_folder(model)


def _cuda_has(device: str) -> bool:
    index = int(device.partition(":")[2] or 0)
    return bool(torch.cuda.is_available()) and index < torch.cuda.device_count()


def _audio_out(audios: Any) -> np.ndarray:
    """The first waveform of a pipeline's output as float32 numpy (channels, samples)."""
    first = audios[0]
    if isinstance(first, torch.Tensor):
        return first.detach().float().cpu().numpy()
    return np.asarray(first, dtype=np.float32)


def _step_callback(run: Run) -> Callable[..., dict[str, Any]]:
    """A ``callback_on_step_end`` that reports (and so may abort) after every step."""

    def on_step_end(pipe: Any, step: int, _timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        run.on_step(step + 1, float(pipe.num_timesteps))
        return kwargs

    return on_step_end


class _Diffusers:
    """A pipeline class saved with ``save_pretrained`` and called once per track."""

    spec: PipelineSpec
    pipeline_class: Any

    def __init__(self, pipe: Any, model: LocalModel):
        self.pipe, self.model = pipe, model

    @classmethod
    def from_folder(cls, model: LocalModel) -> _Diffusers:
        pipe = cls.pipeline_class.from_pretrained(
            str(model.path), dtype=DTYPES[model.weights_dtype], local_files_only=True)
        pipe.set_progress_bar_config(disable=True)
        return cls(pipe.to(model.device), model)

    def release(self) -> None:
        del self.pipe
        _empty_device_cache()

    def rate(self) -> int:
        return int(self.pipe.vae.config.sampling_rate)


class StableAudio3(_Diffusers):
    """Stable Audio 3 text-to-audio: instrumental only, a negative prompt with guidance > 1."""

    spec = PIPELINES["stable-audio-3"]
    pipeline_class = diffusers.StableAudio3Pipeline

    def generate(self, run: Run) -> tuple[np.ndarray, int]:
        guidance = run.guidance_scale if run.guidance_scale is not None else 1.0
        extra = {"negative_prompt": run.negative_prompt} if guidance > 1 and run.negative_prompt \
            else {}
        out = self.pipe(run.prompt, duration=run.seconds, num_inference_steps=run.steps,
                        guidance_scale=guidance, generator=run.generator, output_type="pt",
                        callback_on_step_end=_step_callback(run), **extra)
        return _audio_out(out.audios), self.rate()


class StableAudioOpen(_Diffusers):
    """Stable Audio Open: instrumental, up to 47.55 s, a negative prompt; its progress comes
    through the legacy ``callback(step, timestep, latents)``."""

    spec = PIPELINES["stable-audio-open"]
    pipeline_class = diffusers.StableAudioPipeline
    DEFAULT_STEPS = 100

    def generate(self, run: Run) -> tuple[np.ndarray, int]:
        steps = run.steps or self.DEFAULT_STEPS
        extra: dict[str, Any] = {} if run.guidance_scale is None \
            else {"guidance_scale": run.guidance_scale}
        if run.negative_prompt:
            extra["negative_prompt"] = run.negative_prompt
        out = self.pipe(run.prompt, audio_end_in_s=run.seconds, num_inference_steps=steps,
                        generator=run.generator, output_type="pt", callback_steps=1,
                        callback=lambda step, *_: run.on_step(step + 1, steps), **extra)
        return _audio_out(out.audios), self.rate()


class AceStep(_Diffusers):
    """ACE-Step 1.5: lyrics or ``[Instrumental]``; 48 kHz out."""

    spec = PIPELINES["ace-step-1.5"]
    pipeline_class = diffusers.AceStepPipeline

    def generate(self, run: Run) -> tuple[np.ndarray, int]:
        lyrics = ACE_INSTRUMENTAL if run.instrumental else (run.lyrics or ACE_INSTRUMENTAL)
        extra = {} if run.guidance_scale is None else {"guidance_scale": run.guidance_scale}
        out = self.pipe(run.prompt, lyrics=lyrics, audio_duration=run.seconds,
                        num_inference_steps=run.steps or 8, generator=run.generator,
                        output_type="pt", callback_on_step_end=_step_callback(run), **extra)
        return _audio_out(out.audios), self.rate()


class MiniMaxMusic3:
    """MiniMax Music 3 (modular): a planner LM writes frames, a DiT renders 8 s windows.

    It has no step callbacks in diffusers 0.42, so forward pre-hooks count the work: one
    on the LM per generated frame, one on the transformer per step and guidance branch.
    """

    spec = PIPELINES["minimax-music-3"]
    #: The share of the work done by the planner, for progress (the rest is denoising).
    PLANNER_SHARE = 0.6
    CHUNK_FRAMES, CHUNK_HOP = 200, 100  # the pipeline's denoising windows, in frames

    def __init__(self, pipe: Any, model: LocalModel):
        self.pipe, self.model = pipe, model

    @classmethod
    def from_folder(cls, model: LocalModel) -> MiniMaxMusic3:
        pipe = diffusers.ModularPipeline.from_pretrained(str(model.path))
        pipe.load_components(dtype=DTYPES[model.weights_dtype])
        pipe.set_progress_bar_config(disable=True)
        pipe.to(model.device)
        return cls(pipe, model)

    def release(self) -> None:
        del self.pipe
        _empty_device_cache()

    def generate(self, run: Run) -> tuple[np.ndarray, int]:
        if not run.lyrics:
            raise ValueError("MiniMax Music 3 needs lyrics")
        steps = run.steps or 30
        frames = int(run.seconds * self.pipe.frame_rate)
        work = _Work(run.on_step, frames, self._denoise_calls(frames, steps))
        hooks = [self.pipe.language_model.model.register_forward_pre_hook(work.frame),
                 self.pipe.transformer.register_forward_pre_hook(work.step)]
        try:
            audios = self.pipe(prompt=run.prompt, lyrics=run.lyrics, audio_duration=run.seconds,
                               num_inference_steps=steps, generator=run.generator,
                               output_type="pt", output="audios")
        finally:
            for hook in hooks:
                hook.remove()
        return _audio_out(audios), int(self.pipe.sampling_rate)

    def _denoise_calls(self, frames: int, steps: int) -> int:
        windows = 1 if frames <= self.CHUNK_FRAMES else \
            math.ceil((frames - self.CHUNK_HOP) / self.CHUNK_HOP)
        branches = 2 if float(self.pipe.guider.config.guidance_scale) > 1 else 1
        return windows * steps * branches


class _Work:
    """Counts MiniMax Music 3's frames and transformer calls into one fraction."""

    def __init__(self, report: StepReport, frames: int, denoise_calls: int):
        self.report, self.frames, self.calls = report, max(1, frames), max(1, denoise_calls)
        self.frames_done = self.calls_done = 0

    def frame(self, *_: Any) -> None:
        self.frames_done += 1
        self._report()

    def step(self, *_: Any) -> None:
        self.calls_done += 1
        self._report()

    def _report(self) -> None:
        share = MiniMaxMusic3.PLANNER_SHARE
        done = share * min(1.0, self.frames_done / (self.frames + 1)) \
            + (1 - share) * min(1.0, self.calls_done / self.calls)
        self.report(done, 1.0)


def _empty_device_cache() -> None:
    import gc

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
