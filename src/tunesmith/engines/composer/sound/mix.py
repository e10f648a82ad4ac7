"""The mix: every part placed on the buses, the sidechain, the vocals seated over the band,
cues, the send returns and lo-fi colour, in that order.

The jobs live in their own modules (:mod:`filters`, :mod:`buses`, :mod:`sidechain`,
:mod:`sends`, :mod:`cues`, :mod:`colour`); this one decides the order.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tunesmith.engines.composer.score import SAMPLE_RATE, Score
from tunesmith.engines.composer.sound.buses import add_upsampled, place_part
from tunesmith.engines.composer.sound.colour import lofi_colour
from tunesmith.engines.composer.sound.cues import add_cue_sounds, filter_sweep, tape_stop
from tunesmith.engines.composer.sound.sends import send_returns
from tunesmith.engines.composer.sound.sidechain import duck_envelope, kick_onsets
from tunesmith.engines.composer.sound.stems import PartRender
from tunesmith.engines.composer.sound.vocal_stems import seat_voices

SR = SAMPLE_RATE


def mix_parts(parts: Iterable[PartRender], score: Score, seed: int = 0) -> np.ndarray:
    """Sum the parts with sends, ducking, cues and colour: float32 (2, samples), unmastered.

    ``parts`` are the score's parts with notes, in score order; each is placed as it comes
    and its sounds dropped, so they can still be rendering while the first are mixed.
    """
    n = round(score.duration * SR)
    prod = score.production
    playing = score.playing
    dry = np.zeros((2, n), dtype=np.float32)
    ducking = prod.sidechain > 0 and any(p.sidechain for p in playing)
    ducked = np.zeros((2, n), dtype=np.float32) if ducking else dry
    half = -(-n // 2)
    sends: dict[str, np.ndarray | None] = {
        "reverb": np.zeros(half, np.float32)
        if any(p.reverb > 0 for p in playing) or score.cues
        else None,
        "delay": np.zeros(half, np.float32) if any(p.delay > 0 for p in playing) else None,
    }
    voices: list[PartRender] = []
    kicks: list[int] = []
    for pr in parts:
        if pr.part.role == "vocal":
            voices.append(pr)  # seated once the band is mixed
            continue
        place_part(pr, ducked if pr.part.sidechain else dry, sends, prod.width)
        pr.sounds = {}  # placed: the mix owns the part now, and memory is tight
        kicks += pr.kicks
    if ducking:
        ducked *= duck_envelope(kick_onsets(kicks, score), n, prod.sidechain, score.bpm)
        dry += ducked
        del ducked
    if voices:
        seat_voices(dry, voices)
    for pr in voices:
        place_part(pr, dry, sends, prod.width)
        pr.sounds = {}
    for cue in score.cues:
        if cue.kind == "filter_sweep":
            filter_sweep(dry, cue)
        elif cue.kind == "tape_stop":
            tape_stop(dry, cue)
    add_cue_sounds(dry, sends["reverb"], score, seed)
    returns = send_returns(sends, prod, score.bpm)
    if returns is not None:
        add_upsampled(dry, returns)
    return lofi_colour(dry, prod, seed)
