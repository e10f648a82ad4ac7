"""A controllable engine for testing the job machinery (not a product engine).

The prompt steers it: ``stages=N`` stages of ``sleep=S`` seconds, then ``crash`` (the worker
process dies), ``fail`` (the engine raises), ``hang`` (blocks without reporting progress).
It writes a real, short MP3 so the storage and download paths are exercised end to end.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np

from tunesmith.audio.codec import duration_seconds, write_mp3
from tunesmith.engines.base import Capabilities, GenerationRequest, Progress, Track

MARKER_DIR_ENV = "TUNESMITH_TEST_MARKERS"


def _number(prompt: str, name: str, default: float) -> float:
    match = re.search(rf"{name}=([0-9.]+)", prompt)
    return float(match.group(1)) if match else default


class StagedEngine:
    model_id = "test/staged"
    capabilities = Capabilities(lyrics=True, instrumental=True, description="test engine")

    def __init__(self, settings: object = None):
        self.settings = settings

    def unavailable_reason(self) -> str | None:
        return None

    def generate(self, request: GenerationRequest, progress: Progress, workdir: Path) -> Track:
        prompt = request.prompt
        stages = int(_number(prompt, "stages", 2))
        pause = _number(prompt, "sleep", 0.05)
        if "crash-once" in prompt and self._first_run(request, workdir):
            os._exit(17)
        for stage in range(stages):
            progress(stage / stages, f"stage{stage}")
            if "crash" in prompt and "crash-once" not in prompt and stage == 1:
                os._exit(17)
            if "hang" in prompt and stage == 1:
                time.sleep(3600)
            time.sleep(pause)
        if "fail" in prompt:
            raise RuntimeError("secret internal detail /etc/passwd")
        seconds = request.duration_seconds
        t = np.arange(int(seconds * 44100)) / 44100
        tone = 0.2 * np.sin(2 * np.pi * (220 + request.seed % 200) * t).astype(np.float32)
        path = write_mp3(workdir / "track.mp3", np.stack([tone, tone]))
        return Track(path=path, duration_seconds=duration_seconds(path), seed=request.seed,
                     lyrics=request.lyrics, plan={"style": "test", "bpm": 120.0})

    @staticmethod
    def _first_run(request: GenerationRequest, workdir: Path) -> bool:
        marker = Path(os.environ.get(MARKER_DIR_ENV, workdir.parent)) / f"ran-{request.seed}"
        if marker.exists():
            return False
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("1")
        return True
