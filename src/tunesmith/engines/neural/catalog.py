"""What each neural pipeline can do, and what a local model lacks to run here.

Checked without importing torch (the API lists models on every request): the extra is
installed, the folder is there and holds a saved pipeline, and a GPU device exists.
The worker that loads the model checks again with torch, and says so the same way.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from tunesmith.config import LocalModel
from tunesmith.engines.base import Capabilities


@dataclass(frozen=True)
class PipelineSpec:
    """One diffusers pipeline as our contract sees it."""

    name: str
    title: str
    lyrics: bool
    instrumental: bool
    #: The shortest length the model makes well; shorter requests are generated this long, then cut.
    min_generate_seconds: float
    max_seconds: int
    negative_prompt: bool
    #: The file save_pretrained writes at the top of the folder.
    index_file: str = "model_index.json"
    summary: str = ""

    def capabilities(self, model: LocalModel) -> Capabilities:
        return Capabilities(lyrics=self.lyrics, instrumental=self.instrumental,
                            min_duration_seconds=5, max_duration_seconds=self.max_seconds,
                            exact_duration=True, price_usd=model.price_usd,
                            description=f"{self.title} from local weights ({model.device}): "
                            f"{self.summary}")


PIPELINES: dict[str, PipelineSpec] = {
    spec.name: spec for spec in (
        PipelineSpec("minimax-music-3", "MiniMax Music 3", lyrics=True, instrumental=False,
                     min_generate_seconds=5, max_seconds=240, negative_prompt=False,
                     index_file="modular_model_index.json",
                     summary="sings your lyrics (or lyrics our lyricist writes for the prompt); "
                     "no instrumental mode; honours duration_seconds exactly (generated a "
                     "little longer, then cut and faded)."),
        PipelineSpec("ace-step-1.5", "ACE-Step 1.5", lyrics=True, instrumental=True,
                     min_generate_seconds=10, max_seconds=240, negative_prompt=False,
                     summary="vocals with your lyrics (or lyrics written for the prompt) or "
                     "instrumental; honours duration_seconds exactly."),
        PipelineSpec("stable-audio-3", "Stable Audio 3", lyrics=False, instrumental=True,
                     min_generate_seconds=1, max_seconds=240, negative_prompt=True,
                     summary="instrumental music and sound from the prompt (no vocals); "
                     "honours duration_seconds exactly."),
        PipelineSpec("stable-audio-open", "Stable Audio Open", lyrics=False, instrumental=True,
                     min_generate_seconds=1, max_seconds=47, negative_prompt=True,
                     summary="instrumental music and sound from the prompt (no vocals), up to "
                     "47 s; honours duration_seconds exactly."),
    )
}

NEURAL_EXTRA = ("torch", "diffusers", "transformers")


def unavailable_reason(model_id: str, model: LocalModel) -> str | None:
    """None when ``model`` can be loaded here, else what the operator must fix."""
    missing = [name for name in NEURAL_EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        return (f"the neural engines need {', '.join(missing)}: install tunesmith with its "
                "'neural' extra (pip install 'tunesmith[neural]')")
    return folder_problem(model_id, model) or device_problem(model.device)


def folder_problem(model_id: str, model: LocalModel) -> str | None:
    spec = PIPELINES[model.pipeline]
    if not model.path.is_dir():
        return (f"the weights of {model_id} are not at {model.path}: put the "
                f"{spec.title} folder there or fix its path in TUNESMITH_LOCAL_MODELS")
    if not (model.path / spec.index_file).is_file():
        return (f"{model.path} holds no {spec.index_file}: it is not a saved {spec.title} "
                "pipeline (save_pretrained writes one)")
    return None


def device_problem(device: str) -> str | None:
    """Why ``device`` is missing on this machine, judged from the device files."""
    if device == "cpu" or device == "mps":
        return None
    index = int(device.partition(":")[2] or 0)
    if Path(f"/dev/nvidia{index}").exists() or Path("/dev/kfd").exists():
        return None
    return (f"no GPU {device} on this machine: run this model where one is, or set its "
            "device to cpu in TUNESMITH_LOCAL_MODELS")
