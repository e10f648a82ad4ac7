"""Composer benchmark: end-to-end time per track (prompt → MP3), peak memory per worker, and
throughput with two concurrent requests, for 30 s and 180 s tracks across styles.

Targets on a 2-core machine: a 180 s track in <= 4 s median, a 180 s song with vocals in
<= 6 s median, <= 1 GB per worker.

    .venv/bin/python bench/composer_bench.py [--runs 1] [--styles 8] [--vocals | --only-vocals]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

PROMPTS = [
    "upbeat synthwave with warm neon pads and a driving beat",
    "chill lo-fi hip hop, late night study vibes",
    "jazz trio, upright bass, brushed snare, bebop swing",
    "epic orchestral film score, dramatic strings",
    "deep house, four on the floor, warm chords",
    "heavy metal with distorted guitars",
    "trap beat with 808s and hi-hat rolls",
    "bossa nova with nylon guitar",
    "classical piano, romantic, slow",
    "drum and bass, fast breakbeats, reese bass",
]
CONTRACT_LYRICS = ("Sunshine in the morning\nBrightens up my day\nEvery step I'm taking\n"
                   "Leads me on my way")
#: Songs with vocals: (prompt, lyrics); None lets the composer write the lyrics.
VOCAL_SONGS: list[tuple[str, str | None]] = [
    ("pop song about chasing dreams", None),
    ("soulful r&b love song, female vocals", None),
    ("rock anthem with male vocals", None),
    ("upbeat pop with piano", CONTRACT_LYRICS),
]


def render(prompt: str, duration: int, seed: int, instrumental: bool = True,
           lyrics: str | None = None) -> tuple[float, int, float]:
    """Generate one track in this process: (wall seconds, peak RSS in MB so far, CPU seconds).

    CPU is user + system time of the worker, all its threads: on a shared machine it moves
    far less than wall time, so judge a change by it and read wall time with the load.
    """
    from tunesmith.config import BUILTIN_MODEL
    from tunesmith.engines.base import GenerationRequest, no_progress
    from tunesmith.engines.composer.engine import ComposerEngine
    from tunesmith.jobs.worker import limit_arenas, release_memory

    limit_arenas()  # as a service worker does when it starts (repeating it changes nothing)

    request = GenerationRequest(prompt=prompt, model=BUILTIN_MODEL, instrumental=instrumental,
                                lyrics=lyrics, duration_seconds=duration, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        started, cpu = time.perf_counter(), _cpu_seconds()
        ComposerEngine().generate(request, no_progress, Path(tmp))
        wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    release_memory()  # as a service worker does after each job
    return wall, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, cpu


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def sequential(pool: ProcessPoolExecutor, prompts: list[str], duration: int, runs: int,
               instrumental: bool) -> None:
    rows = [pool.submit(render, p, duration, 1000 + r, instrumental).result()
            for r in range(runs) for p in prompts]
    report(rows, duration, "instrumental" if instrumental else "with vocals")


def songs(pool: ProcessPoolExecutor, cases: list[tuple[str, str | None]], duration: int,
          runs: int) -> None:
    """Songs with vocals: lyrics written by the composer, or given."""
    rows = [pool.submit(render, prompt, duration, 1000 + r, False, lyrics).result()
            for r in range(runs) for prompt, lyrics in cases]
    report(rows, duration, "with vocals")


def report(rows: list[tuple[float, int, float]], duration: int, kind: str) -> None:
    times = [wall for wall, _, _ in rows]
    cpu = [c for _, _, c in rows]
    print(f"{duration:>3} s {kind}: median {statistics.median(times):.2f} s, "
          f"min {min(times):.2f}, max {max(times):.2f} over {len(times)} tracks "
          f"({duration / statistics.median(times):.0f}x real time); "
          f"CPU median {statistics.median(cpu):.2f} s; "
          f"peak RSS {max(rss for _, rss, _ in rows)} MB; load {_load()}")


def _load() -> str:
    """The 1-minute load average: wall times mean little without it."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def concurrent(prompts: list[str], duration: int, instrumental: bool) -> None:
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        list(pool.map(render, prompts[:2], [5, 5], [0, 1]))  # warm both workers
        started = time.perf_counter()
        futures = [pool.submit(render, p, duration, 7 + i, instrumental)
                   for i, p in enumerate(prompts[:4])]
        results = [f.result() for f in futures]
        wall = time.perf_counter() - started
    print(f"2 concurrent workers, 4 x {duration} s tracks: {wall:.2f} s wall, "
          f"{4 * 60 / wall:.1f} tracks/min, {4 * duration / wall:.0f} s of music per second, "
          f"peak RSS per worker {max(rss for _, rss, _ in results)} MB; load {_load()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--styles", type=int, default=len(PROMPTS))
    parser.add_argument("--vocals", action="store_true", help="also time songs with vocals")
    parser.add_argument("--only-vocals", action="store_true",
                        help="time only songs with vocals (30 s and 180 s)")
    args = parser.parse_args()
    prompts = PROMPTS[: args.styles]
    print(f"{os.cpu_count()} CPUs; {len(prompts)} styles")
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        pool.submit(render, prompts[0], 5, 0).result()  # imports, SoundFont load
        pool.submit(render, VOCAL_SONGS[0][0], 5, 0, False).result()  # espeak, WORLD
        if not args.only_vocals:
            for duration in (30, 180):
                sequential(pool, prompts, duration, args.runs, instrumental=True)
        if args.vocals or args.only_vocals:
            for duration in (30, 180):
                songs(pool, VOCAL_SONGS, duration, args.runs)
    if not args.only_vocals:
        concurrent(prompts, 180, instrumental=True)


if __name__ == "__main__":
    main()
