"""Tiny random-weight music models, built once per test session and loaded from disk.

The real diffusers classes at a few MB each (engines/neural/random_weights.py), saved with
save_pretrained to a temporary folder: the engines load them through the same code as an
operator's weights. Runs use one CPU thread (tiny ops lose to thread hand-offs on a busy
two-core machine) and two denoising steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tunesmith.config import LocalModel

TINY_STEPS = 2


def tiny_model(folder: Path, pipeline: str, **overrides: Any) -> LocalModel:
    """A LocalModel for the tiny ``pipeline`` in ``folder`` (built there if missing)."""
    from tunesmith.engines.neural.random_weights import build

    target = folder / pipeline
    if not target.exists():
        build(pipeline, target)
    values: dict[str, Any] = {"pipeline": pipeline, "path": target, "device": "cpu",
                              "dtype": "float32", "steps": TINY_STEPS, "threads": 1}
    values.update(overrides)
    return LocalModel(**values)
