"""What a rendered part is: its distinct sounds, where they play, and how loud it sits.

A part never exists as a full-length array unless someone asks for stems: :mod:`mix` places
each sound straight onto the buses wherever it plays.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field

import numpy as np

from tunesmith.engines.composer.library.instruments import MixSettings, catalogue
from tunesmith.engines.composer.score import Part


@dataclass
class PartRender:
    """One part ready to mix: its sounds, where they start, and how loud it plays."""

    part: Part
    mix: MixSettings
    sounds: dict[Hashable, np.ndarray] = field(default_factory=dict)
    events: list[tuple[int, Hashable, int]] = field(default_factory=list)  # start, key, max len
    power: float = 0.0  # mean square over the samples where it sounds
    kicks: list[int] = field(default_factory=list)  # kick onsets, for sidechain ducking
    reference: np.ndarray | None = None  # a kit's kick before tone shaping, for its level

    def level_gain(self) -> float:
        """Linear gain that brings the part to its role's level plus the arranger's trim."""
        if self.power <= 0:
            return 0.0
        target = (catalogue().role_level_db(self.part.role) + self.mix.trim_db
                  + self.part.gain_db)
        return 10.0 ** (target / 20.0) / math.sqrt(self.power)
