"""Is the composer's audio byte-identical? sha256 of a fixed set of renders, recorded and checked.

A restructure of the composer must not move one sample. This renders a fixed list of requests
(every style in data/styles.toml, several substyles, with and without a sung lead, lyrics given
or written, 5–180 s, fixed seeds) through ``ComposerEngine.generate`` and hashes two things per
request: the float32 PCM the engine hands the encoder (the master's output, bit for bit) and the
MP3 bytes it writes. Both are deterministic for a given request (checked: two recordings of the
same code agree), so either changing means the sound changed.

    .venv/bin/python bench/identical.py --record ../identical-baseline.json
    .venv/bin/python bench/identical.py --check ../identical-baseline.json [--only jazz]

``--check`` prints one line per request and exits 1 on any difference. Requests are keyed by their
fields, so a request added later is reported as new rather than failing, and one that the prompt
reader now reads as another style shows the style it got.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

LYRICS = ("Sunshine in the morning\nBrightens up my day\nEvery step I'm taking\n"
          "Leads me on my way")


@dataclass(frozen=True)
class Request:
    prompt: str
    duration: int
    seed: int
    instrumental: bool = True
    lyrics: str | None = None

    @property
    def key(self) -> str:
        sung = "instrumental" if self.instrumental else (
            "sung, lyrics given" if self.lyrics else "sung, lyrics written")
        return f"{self.prompt} | {self.duration}s | seed {self.seed} | {sung}"


#: One prompt per style (its first alias, so the prompt reader picks it outright), a few
#: substyles, and songs; durations cycle through 5–180 s so short forms and long ones both run.
PROMPTS = [
    "pop", "synthwave", "lofi hip hop", "hip hop", "house", "techno", "trance",
    "drum and bass", "dubstep", "ambient", "cinematic", "classical piano", "jazz", "blues",
    "rock", "metal", "punk", "funk", "soul", "disco", "reggae", "country", "folk", "latin",
    "chiptune", "new age", "gospel",
    # substyles
    "trap beat with 808s", "deep house, warm chords", "acid techno", "dark ambient drone",
    "bebop jazz trio", "bossa nova with nylon guitar", "bluegrass banjo",
]
DURATIONS = [30, 5, 60, 12, 90, 20, 180, 45]
SONGS = [
    Request("pop song about chasing dreams", 30, 7, instrumental=False),
    Request("soulful r&b love song, female vocals", 60, 11, instrumental=False),
    Request("rock anthem with male vocals", 90, 13, instrumental=False),
    Request("upbeat pop with piano", 20, 17, instrumental=False, lyrics=LYRICS),
    Request("folk ballad, acoustic guitar", 180, 19, instrumental=False),
    Request("jazz ballad, female vocals", 8, 23, instrumental=False, lyrics=LYRICS),
    Request("country song with vocals", 45, 29, instrumental=False),
    Request("gospel choir song", 30, 31, instrumental=False, lyrics=LYRICS),
]


def requests() -> list[Request]:
    """The fixed list: every prompt once (durations cycling, seeds fixed), then the songs."""
    plain = [Request(p, DURATIONS[i % len(DURATIONS)], 100 + i) for i, p in enumerate(PROMPTS)]
    return plain + SONGS


def render(request: Request) -> dict[str, object]:
    """Generate one track and hash its PCM (as handed to the encoder) and its MP3 bytes."""
    from tunesmith.config import BUILTIN_MODEL
    from tunesmith.engines.base import GenerationRequest, no_progress
    from tunesmith.engines.composer import engine as composer_engine

    pcm: list[str] = []
    encode = composer_engine.write_mp3

    def hashing_write_mp3(path: Path, audio: np.ndarray, *args: object, **kwargs: object) -> Path:
        data = np.ascontiguousarray(audio)
        pcm.append(f"{data.dtype}{data.shape}:" + hashlib.sha256(data.tobytes()).hexdigest())
        return encode(path, audio, *args, **kwargs)  # type: ignore[arg-type]

    composer_engine.write_mp3 = hashing_write_mp3  # type: ignore[assignment]
    try:
        gen = GenerationRequest(prompt=request.prompt, model=BUILTIN_MODEL,
                                instrumental=request.instrumental, lyrics=request.lyrics,
                                duration_seconds=request.duration, seed=request.seed)
        with tempfile.TemporaryDirectory() as tmp:
            track = composer_engine.ComposerEngine().generate(gen, no_progress, Path(tmp))
            mp3 = hashlib.sha256(track.path.read_bytes()).hexdigest()
    finally:
        composer_engine.write_mp3 = encode  # type: ignore[assignment]
    plan = track.plan or {}
    return {"style": f"{plan.get('style')}/{plan.get('substyle')}", "pcm": pcm[0], "mp3": mp3}


def run(only: str | None) -> dict[str, dict[str, object]]:
    results: dict[str, dict[str, object]] = {}
    started = time.perf_counter()
    for request in requests():
        if only and only not in request.key:
            continue
        t0 = time.perf_counter()
        results[request.key] = render(request) | {"request": asdict(request)}
        print(f"{time.perf_counter() - t0:5.1f}s  {request.key}  "
              f"[{results[request.key]['style']}]", flush=True)
    print(f"{len(results)} renders in {time.perf_counter() - started:.1f} s")
    return results


def check(baseline: dict[str, dict[str, object]], results: dict[str, dict[str, object]]) -> int:
    """Print a verdict per request; the number of requests whose audio differs."""
    differ = 0
    for key, got in results.items():
        want = baseline.get(key)
        if want is None:
            print(f"NEW       {key}")
            continue
        same = {part: got[part] == want[part] for part in ("pcm", "mp3")}
        if all(same.values()):
            print(f"identical {key}")
            continue
        differ += 1
        moved = ", ".join(part for part, ok in same.items() if not ok)
        print(f"DIFFERS   {key}: {moved} (style then {want['style']}, now {got['style']})")
    missing = [key for key in baseline if key not in results]
    print(f"{len(results) - differ} identical, {differ} differ, "
          f"{len(missing)} in the baseline not rendered")
    return differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--record", type=Path, metavar="FILE")
    mode.add_argument("--check", type=Path, metavar="FILE")
    parser.add_argument("--only", help="render only requests whose key contains this text")
    args = parser.parse_args()
    if args.check:
        baseline = json.loads(args.check.read_text())  # read first: a bad path fails fast
        sys.exit(1 if check(baseline, run(args.only)) else 0)
    results = run(args.only)
    args.record.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(f"recorded {len(results)} renders in {args.record}")


if __name__ == "__main__":
    main()
