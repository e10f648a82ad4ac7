"""The composer's lyricist and master, used by the neural engines.

The only module of the neural engines that imports composer internals, so that moving them
touches this file alone.
"""

from __future__ import annotations

import numpy as np


def write_lyrics(prompt: str, seed: int) -> str:
    """Tagged lyrics ([Verse], [Chorus] ...) for the prompt; the same seed writes the same."""
    from tunesmith.engines.composer.lyricist import write_lyrics as lyricist

    return lyricist(prompt, seed)


def master(audio: np.ndarray) -> np.ndarray:
    """The composer's master: -14 LUFS, -1 dBTP after MP3 encoding, float32 (2, samples)."""
    from tunesmith.engines.composer.master import master as composer_master
    from tunesmith.engines.composer.score import Production

    # No glue compression or saturation: a model's output is already produced.
    return composer_master(audio, Production(compression=0.0, saturation=0.0))
