"""Benchmark of the composer's sound half: median wall time and peak RSS of render_score.

Run: ``.venv/bin/python bench/render_bench.py [--runs 3] [--style house]``. Each run is a fresh
process: a cold render (the SoundFont is parsed inside it) then a warm one (SoundFont already
loaded, as in a long-running server; note caches are per render, so they start empty).
Peak RSS includes the parsed SoundFont (~430 MB for pretty_midi's TimGM6mb.sf2).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

from tunesmith.engines.composer.score import (
    Cue,
    Note,
    Part,
    Production,
    Score,
    Section,
)

STYLES: dict[str, dict] = {
    "house": {
        "bpm": 124.0,
        "kit": "kit_909",
        "bass": "synth_bass_saw",
        "chords": "synth_pad_warm",
        "lead": "synth_pluck",
        "gm": "piano",
        "gm2": "strings",
        "sidechain": 0.6,
    },
    "trance": {
        "bpm": 138.0,
        "kit": "kit_909",
        "bass": "synth_bass_saw",
        "chords": "supersaw",
        "lead": "synth_lead_saw",
        "gm": "piano",
        "gm2": "strings",
        "sidechain": 0.7,
    },
    "trap": {
        "bpm": 140.0,
        "kit": "kit_808",
        "bass": "bass_808",
        "chords": "synth_pad_dark",
        "lead": "fm_bell",
        "gm": "piano",
        "gm2": "strings",
        "sidechain": 0.0,
    },
    "jazz": {
        "bpm": 120.0,
        "kit": "kit_jazz",
        "bass": "upright_bass",
        "chords": "electric_piano",
        "lead": "alto_sax",
        "gm": "piano",
        "gm2": "strings",
        "sidechain": 0.0,
    },
}
PROGRESSION = ((57, 60, 64), (53, 57, 60), (48, 52, 55), (55, 59, 62))  # Am F C G
MELODY = (69, 72, 71, 67, 69, 64, 65, 67)


def _drums(bars: int, beat: float) -> list[Note]:
    notes: list[Note] = []
    for bar in range(bars):
        t0 = bar * 4 * beat
        for b in range(4):
            notes.append(Note(t0 + b * beat, 0.2, 36, 118))
            notes.append(Note(t0 + (b + 0.5) * beat, 0.1, 46 if b % 2 else 42, 80))
            notes.append(Note(t0 + b * beat, 0.05, 42, 60))
        notes += [Note(t0 + beat, 0.2, 39, 110), Note(t0 + 3 * beat, 0.2, 38, 105)]
    return notes


def build_score(style: str = "house", duration: float = 180.0) -> Score:
    """A six-part song of ``duration`` seconds in a given style, written by hand."""
    spec = STYLES[style]
    beat = 60.0 / spec["bpm"]
    bars = int(duration / (4 * beat))
    bass, chords, lead, gm, gm2 = [], [], [], [], []
    for bar in range(bars):
        t0 = bar * 4 * beat
        chord = PROGRESSION[bar % 4]
        for e in range(8):
            bass.append(Note(t0 + e * beat / 2, beat / 2 * 0.9, chord[0] - 24, 100 + 10 * (e % 2)))
        chords += [Note(t0, 4 * beat, p, 90) for p in chord]
        lead += [
            Note(t0 + i * beat / 2, beat / 2 * 0.8, MELODY[(i + bar) % 8], 96) for i in range(8)
        ]
        gm += [Note(t0 + b * beat, beat, p + 12, 80) for b in range(4) for p in chord]
        gm2 += [Note(t0, 4 * beat, chord[0] + 12, 75)]
    parts = [
        Part("drums", spec["kit"], "drums", _drums(bars, beat), reverb=0.08),
        Part("bass", spec["bass"], "bass", bass, reverb=0.0, sidechain=True),
        Part("chords", spec["chords"], "pad", chords, pan=0.0, reverb=0.35, sidechain=True),
        Part("lead", spec["lead"], "melody", lead, pan=0.1, reverb=0.25, delay=0.3),
        Part("piano", spec["gm"], "chords", gm, pan=-0.3, reverb=0.3),
        Part("strings", spec["gm2"], "counter", gm2, pan=0.3, reverb=0.4),
    ]
    half = bars // 2 * 4 * beat
    return Score(
        style,
        style,
        spec["bpm"],
        "A",
        "minor",
        (4, 4),
        duration,
        [
            Section("verse", 0.0, half, bars // 2, 0.5),
            Section("drop", half, duration, bars - bars // 2, 0.9),
        ],
        parts,
        Production(sidechain=spec["sidechain"], delay_beats=0.75),
        [Cue("riser", half - 8 * beat, half), Cue("impact", half, half + 2.0)],
    )


def _one_run(style: str, duration: float) -> dict[str, float]:
    """A cold render (fresh process: SoundFont parsed inside) and then a warm one."""
    from tunesmith.engines.composer.sound.render import render_score

    score = build_score(style, duration)
    figures: dict[str, float] = {}
    for label in ("cold", "warm"):
        start, cpu = time.perf_counter(), time.process_time()
        audio = render_score(score, seed=1)
        figures[f"{label}_wall_s"] = time.perf_counter() - start
        figures[f"{label}_cpu_s"] = time.process_time() - cpu
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    figures["samples"] = float(audio.shape[1])
    return figures


def main() -> None:
    """Fresh process per run; print medians for 30 s and 180 s."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--style", default="house", choices=sorted(STYLES))
    parser.add_argument("--child", nargs=2, metavar=("STYLE", "SECONDS"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_one_run(args.child[0], float(args.child[1]))))
        return
    for seconds in (30.0, 180.0):
        runs = [
            json.loads(
                subprocess.run(
                    [sys.executable, __file__, "--child", args.style, str(seconds)],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            for _ in range(args.runs)
        ]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        rss = max(r["peak_rss_mb"] for r in runs)
        print(
            f"{args.style} {seconds:>5.0f} s over {args.runs} runs: median wall cold "
            f"{med['cold_wall_s']:.2f} s (cpu {med['cold_cpu_s']:.2f}), warm "
            f"{med['warm_wall_s']:.2f} s (cpu {med['warm_cpu_s']:.2f}), peak RSS {rss:.0f} MB"
        )


if __name__ == "__main__":
    main()
