"""Style survey: render one track per style and check it by ear-proxies.

For every style the composer must cover (and the contract's prompt tips) this renders one
instrumental track, analyses the MP3 and prints what was planned next to what was heard:
tempo (within 2 %, half or double allowed), key (same or relative; a mode also matches its
parent scale's key, see ``key_matches``), loudness (about -14 LUFS: -15.5 to -12.5), true peak
(at most -1 dBTP, no clipping), duration and section boundaries. A line ends with "ok" or with
what is off.

    .venv/bin/python bench/style_survey.py [--duration 30] [--seed 1] [--only jazz]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from tunesmith.audio.analysis import analyze_file
from tunesmith.audio.key import key_matches
from tunesmith.config import BUILTIN_MODEL
from tunesmith.engines.base import GenerationRequest, no_progress
from tunesmith.engines.composer.engine import ComposerEngine

PROMPTS = [
    "catchy pop song with bright synths",
    "synthwave retrowave, 80s neon night drive",
    "chill lo-fi hip hop, late night study vibes",
    "boom bap hip hop beat with dusty samples",
    "dark trap beat with 808s and hi-hat rolls",
    "deep house, warm chords, four on the floor",
    "driving berlin techno, hypnotic",
    "uplifting trance with supersaw lead",
    "liquid drum and bass, fast breakbeats",
    "heavy dubstep with wobble bass drop",
    "dark ambient drone, slow evolving pads, cinematic tension",
    "epic orchestral film score, dramatic strings",
    "classical piano, romantic and gentle",
    "jazz trio, upright bass, brushed snare, bebop swing",
    "big band swing jazz",
    "slow twelve bar blues with electric guitar",
    "classic rock with crunchy guitars",
    "heavy metal with distorted guitars and double kick",
    "fast punk rock",
    "funky slap bass funk groove",
    "smooth soul r&b slow jam",
    "disco with strings and four on the floor",
    "roots reggae with offbeat skank",
    "country song with acoustic guitar and pedal steel",
    "acoustic folk with fingerpicked guitar",
    "bossa nova with nylon guitar",
    "salsa with piano montuno and congas",
    "8-bit chiptune video game music",
    "new age meditation music, calm",
    "gospel choir with organ",
    # the contract's prompt tips
    "upbeat pop with piano and synth bass, energetic chorus",
    "120 BPM, danceable, happy summer vibes",
    "slow and melancholic, solo piano, minor key",
]


def tempo_ok(planned: float, heard: float) -> bool:
    return any(abs(heard * f - planned) <= 0.02 * planned for f in (1.0, 0.5, 2.0, 1.5, 2 / 3))


def survey(prompt: str, duration: int, seed: int) -> tuple[str, bool]:
    request = GenerationRequest(prompt=prompt, model=BUILTIN_MODEL, instrumental=True,
                                duration_seconds=duration, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        track = ComposerEngine().generate(request, no_progress, Path(tmp))
        wall = time.perf_counter() - started
        heard = analyze_file(track.path)
    plan = track.plan
    problems = []
    if not tempo_ok(float(plan["bpm"]), heard.tempo_bpm):
        problems.append("tempo")
    if not key_matches(heard.key, str(plan["key"])):
        problems.append("key")
    if not -15.5 <= heard.integrated_lufs <= -12.5:
        problems.append("loudness")
    if heard.true_peak_dbtp > -1.0 or heard.clipped_samples:
        problems.append("peak")
    if abs(heard.duration_seconds - duration) > 0.05:
        problems.append("duration")
    style = plan["style"] + (f"/{plan['substyle']}" if plan.get("substyle") else "")
    line = (f"{prompt[:48]:<48} {style:<24} {plan['bpm']:>5.0f}→{heard.tempo_bpm:>5.1f} "
            f"{plan['key']:>10}→{heard.key:<10} {heard.integrated_lufs:>6.1f} LUFS "
            f"{heard.true_peak_dbtp:>5.1f} dBTP {heard.duration_seconds:>6.2f} s "
            f"{len(heard.section_boundaries):>2} sect {wall:>4.1f} s  "
            f"{'ok' if not problems else 'OFF: ' + ', '.join(problems)}")
    return line, not problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="", help="only prompts containing this text")
    args = parser.parse_args()
    prompts = [p for p in PROMPTS if args.only.lower() in p.lower()]
    print(f"{'prompt':<48} {'style':<24} {'bpm plan→heard':>14} {'key plan→heard':>21} "
          f"loudness, peak, length, sections, render time")
    good = 0
    for prompt in prompts:
        line, ok = survey(prompt, args.duration, args.seed)
        good += ok
        print(line, flush=True)
    print(f"{good}/{len(prompts)} tracks match their plan on every check")
    return 0 if good == len(prompts) else 1


if __name__ == "__main__":
    sys.exit(main())
