"""Song form: how many bars, at what tempo, in which sections, to fill a duration exactly.

The tempo bends a little (within the style's range) so the last bar line lands on the
requested duration; an explicit tempo never bends, and the final chord is held through the
remainder instead. Forms come from ``data/forms.toml``: shortened by dropping the sections
marked droppable, then by trimming intro/outro and halving the longest sections; lengthened by
repeating the form's extension block before the outro.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .styles import load_data

#: How far (relative) the tempo may bend to land the form on a bar line.
MAX_BEND = 0.06


@dataclass(frozen=True)
class SectionPlan:
    """A section before timing: its kind, length in bars and energy (0..1)."""

    name: str
    bars: int
    energy: float


@dataclass(frozen=True)
class Timeline:
    """Tempo and bar grid of the piece: ``bars`` full bars, then ``tail_beats`` held over."""

    bpm: float
    beats_per_bar: float
    bars: int
    tail_beats: float

    @property
    def total_beats(self) -> float:
        """Length of the piece in beats."""
        return self.bars * self.beats_per_bar + self.tail_beats


def beats_per_bar(meter: tuple[int, int]) -> float:
    """Quarter-note beats in a bar of ``meter`` (6/8 → 3.0)."""
    return meter[0] * 4.0 / meter[1]


def fit_tempo(duration: float, bpm: float, explicit: bool, bar_beats: float,
              bpm_range: tuple[float, float]) -> Timeline:
    """Bars and tempo that fill ``duration``: bend the tempo, or hold the last chord longer."""
    exact = duration * bpm / (60.0 * bar_beats)
    if not explicit:
        low, high = bpm_range[0] * (1 - MAX_BEND), bpm_range[1] * (1 + MAX_BEND)
        options = []
        for bars in {max(1, math.floor(exact)), max(1, math.ceil(exact))}:
            bent = bars * bar_beats * 60.0 / duration
            if abs(bent / bpm - 1.0) <= MAX_BEND and low <= bent <= high:
                options.append((abs(bent / bpm - 1.0), bars, bent))
        if options:
            _, bars, bent = min(options)
            return Timeline(bent, bar_beats, bars, 0.0)
    bars = max(1, math.floor(exact + 1e-9))
    tail = max(0.0, duration * bpm / 60.0 - bars * bar_beats)
    return Timeline(bpm, bar_beats, bars, tail)


def plan_sections(form_name: str, bars: int, energy: float) -> list[SectionPlan]:
    """The sections of a ``bars``-bar piece in form ``form_name``, with energies."""
    form = load_data("forms")["forms"].get(form_name) or load_data("forms")["forms"]["song"]
    if bars <= 6:
        layout = _short_form(str(form["main"]), bars)
    else:
        layout = _parse(form["sections"])
        layout = _shrink(layout, bars, str(form["main"])) if _total(layout) > bars else \
            _grow(layout, bars, _parse(form["extend"]), str(form["main"]))
    return _energies(_merge_repeats(layout), energy)


def plans_from_layout(layout: list[tuple[str, int]], energy: float) -> list[SectionPlan]:
    """Sections in a given order and length (a form the lyrics wrote), with energies."""
    return _energies([[name, bars, 0] for name, bars in layout], energy)


def _parse(tokens: list[str]) -> list[list]:
    """"name:bars[:drop]" tokens → mutable [name, bars, drop] rows."""
    rows = []
    for token in tokens:
        parts = token.split(":")
        rows.append([parts[0], int(parts[1]), int(parts[2]) if len(parts) > 2 else 0])
    return rows


def _total(layout: list[list]) -> int:
    return sum(row[1] for row in layout)


def _short_form(main: str, bars: int) -> list[list]:
    """A few bars: (intro) – main phrase – final cadence."""
    if bars == 1:
        return [["outro", 1, 0]]
    if bars == 2:
        return [[main, 1, 0], ["outro", 1, 0]]
    return [["intro", 1, 0], [main, bars - 2, 0], ["outro", 1, 0]]


def _shrink(layout: list[list], bars: int, main: str) -> list[list]:
    """Drop droppable sections (highest mark first) while they fit, then trim and halve."""
    for mark in sorted({row[2] for row in layout if row[2] > 0}, reverse=True):
        for row in [r for r in layout if r[2] == mark]:
            if _total(layout) - row[1] >= bars:
                layout.remove(row)
    while _total(layout) > bars:
        _trim_once(layout, main, _total(layout) - bars)
    if _total(layout) < bars:
        _longest_main(layout, main)[1] += bars - _total(layout)
    return layout


def _trim_once(layout: list[list], main: str, excess: int) -> None:
    """Take bars from the intro and outro (down to two), then halve the longest section."""
    for edge in (layout[0], layout[-1]):
        if edge[0] in ("intro", "outro") and edge[1] > 2:
            edge[1] = max(2, edge[1] - excess)
            return
    body = [r for r in layout[1:-1] if r[1] > 1]
    if body:
        longest = max(body, key=lambda r: (r[1], r[0] != main))
        longest[1] -= min(excess, longest[1] // 2)
        return
    edges = [r for r in layout if r[1] > 1]
    if edges:
        edges[0][1] -= 1
    else:
        layout.pop(1 if len(layout) > 2 else 0)


def _grow(layout: list[list], bars: int, extend: list[list], main: str) -> list[list]:
    """Repeat the extension block (or a prefix of it) before the last main section, so the
    song still ends on its final chorus or drop; spread the rest over the outro and that section."""
    mains = [i for i, r in enumerate(layout) if r[0] == main]
    at = mains[-1] if mains else len(layout) - 1
    index = 0
    while extend:
        row = list(extend[index % len(extend)])
        if row[1] > bars - _total(layout):
            break  # blocks start on the main section, so any prefix still leads home
        layout.insert(at, row)
        at += 1
        index += 1
    left = bars - _total(layout)
    outro_gain = min(left, 4)
    layout[-1][1] += outro_gain
    if left > outro_gain:
        _longest_main(layout, main)[1] += left - outro_gain
    return layout


def _merge_repeats(layout: list[list]) -> list[list]:
    """Neighbouring sections of one kind (left by dropping others) become one longer section."""
    merged: list[list] = []
    for row in layout:
        if merged and merged[-1][0] == row[0]:
            merged[-1][1] += row[1]
        else:
            merged.append(list(row))
    return merged


def _longest_main(layout: list[list], main: str) -> list:
    mains = [r for r in layout if r[0] == main] or layout
    return mains[-1]


def _energies(layout: list[list], energy: float) -> list[SectionPlan]:
    """Section energies: each kind's base level scaled by the prompt's energy; last chorus peaks."""
    base = load_data("forms")["energy"]
    scale = 0.55 + 0.9 * energy
    plans = []
    last_peak = max((i for i, r in enumerate(layout) if r[0] in ("chorus", "drop")), default=-1)
    for i, (name, bars, _) in enumerate(layout):
        level = float(base.get(name, 0.5)) * scale + (0.06 if i == last_peak else 0.0)
        plans.append(SectionPlan(name, int(bars), round(min(1.0, max(0.05, level)), 3)))
    return plans
