"""The composer's lyricist and master, used by the neural engines.

The only module of the neural engines that imports composer internals, so that moving them
touches this file alone.
"""

from __future__ import annotations

import numpy as np

#: About how long a sung line lasts, to size the lyrics to the track.
SECONDS_PER_LINE = 3.0
LINES_PER_SECTION = 4


def write_lyrics(prompt: str, seed: int, seconds: float) -> str:
    """Tagged lyrics ([Verse], [Chorus] ...) for the prompt, about as many lines as
    ``seconds`` holds; the same seed writes the same."""
    from tunesmith.engines.composer.writing.lyricist import SONG_FORM
    from tunesmith.engines.composer.writing.lyricist import write_lyrics as lyricist

    lines = max(2, round(seconds / SECONDS_PER_LINE))
    form: list[tuple[str, int]] = []
    while lines > 0:
        count = LINES_PER_SECTION if lines >= LINES_PER_SECTION + 2 else lines
        form.append((SONG_FORM[len(form) % len(SONG_FORM)], count))
        lines -= count
    return lyricist(prompt, seed, form=form)


def master(audio: np.ndarray) -> np.ndarray:
    """The composer's master: -14 LUFS, -1 dBTP after MP3 encoding, float32 (2, samples)."""
    from tunesmith.engines.composer.score import Production
    from tunesmith.engines.composer.sound.master import master as composer_master

    # No glue compression or saturation: a model's output is already produced.
    return composer_master(audio, Production(compression=0.0, saturation=0.0))
