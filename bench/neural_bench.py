"""Neural engines benchmark: seconds per track (30 s and 180 s), real-time factor and peak
memory per model, and the overhead of our path around the pipeline.

Each model runs in a process of its own (so peak memory is its own), loaded once as a worker
holds it, and every track goes through the worker's real job path (the job table, the
progress writes and cancel checks between steps, mastering, MP3 encoding, storing):

    overhead = job wall time - the pipeline call's own time
             = mapping + step progress + finishing (resample, cut, master, encode) + storing

Targets: overhead <= 5 % of the pipeline's time and <= 200 ms per job, the finishing aside
(the composer's master and encoder, whose cost grows with the track's length and not with
the model: `bench/composer_bench.py` measures it).

    .venv/bin/python bench/neural_bench.py                    # tiny random models, CPU
    .venv/bin/python bench/neural_bench.py --full-size --device cuda --dtype bfloat16
    .venv/bin/python bench/neural_bench.py --models ace-step-1.5 --seconds 30 --steps 8
    .venv/bin/python bench/neural_bench.py --full-size --count-only   # sizes, no memory

``--full-size`` builds each pipeline at its published size with random weights (the speed
of random weights is the speed of trained ones); that needs a GPU with room for the model
(MiniMax Music 3 is ~57 GB in bfloat16) and a disk for the saved folder.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

PIPELINES = ("ace-step-1.5", "stable-audio-3", "minimax-music-3")
PROMPT = "warm synth pop with a steady beat and a bright lead"


def measure_model(pipeline: str, args: dict[str, Any]) -> dict[str, Any]:
    """Build, load and run one model in this process; the figures as a dict."""
    import torch

    from tunesmith.engines.neural.random_weights import build

    torch.set_num_threads(args["threads"])
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        with _default_dtype(torch, args["dtype"] if args["full_size"] else "float32"):
            folder = build(pipeline, Path(tmp) / pipeline,
                           "full" if args["full_size"] else "tiny")
        built = time.perf_counter() - began
        return {"pipeline": pipeline, "build_s": built, **_run_jobs(pipeline, folder, args)}


def _run_jobs(pipeline: str, folder: Path, args: dict[str, Any]) -> dict[str, Any]:
    from tunesmith.config import LocalModel, Settings
    from tunesmith.engines.neural.engine import NeuralEngine

    model_id = f"local/{pipeline}"
    model = LocalModel(pipeline=pipeline, path=folder, device=args["device"],
                       dtype=args["dtype"], steps=args["steps"], threads=args["threads"])
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(data_dir=Path(data), signing_secret="bench-secret-0123456789",
                            local_models={model_id: model})
        engine = NeuralEngine(settings, model_id)
        began = time.perf_counter()
        if not engine.load():
            raise SystemExit(f"{pipeline}: {engine.load_error}")
        loaded = time.perf_counter() - began
        longest = engine.capabilities.max_duration_seconds  # Stable Audio Open: 47 s
        tracks = {s: _tracks(settings, engine, s, args["runs"]) for s in args["seconds"]
                  if s <= longest}
    return {"load_s": loaded, "tracks": tracks, "peak_rss_mb": _peak_rss_mb(),
            "gpu_peak_mb": _gpu_peak_mb(args["device"])}


def _tracks(settings: Any, engine: Any, seconds: int, runs: int) -> dict[str, float]:
    """``runs`` jobs of ``seconds`` through the worker's job path: medians in seconds."""
    from tunesmith.jobs.store import JobStore
    from tunesmith.jobs.worker import WorkerContext, run_job
    from tunesmith.storage import LocalStore

    jobs = JobStore(settings.resolved_database_url)
    ctx = WorkerContext(name="bench", settings=settings, jobs=jobs,
                        tracks=LocalStore(settings.tracks_dir, settings.secret_bytes()),
                        engines={engine.model_id: engine}, holds=(engine.model_id,))
    rows = []
    for run in range(runs):
        job, _ = jobs.create(model=engine.model_id, request=_request(engine, seconds),
                             seed=100 + run, deadline_s=86400)
        claimed = ctx.claim()
        assert claimed is not None and claimed.id == job.id
        began = time.perf_counter()
        run_job(ctx, claimed)
        wall = time.perf_counter() - began
        done = jobs.get(job.id)
        if done is None or done.status != "completed":
            raise SystemExit(f"{engine.model_id}: job ended {done and done.error_message}")
        rows.append((wall, engine.timing.pipeline, engine.timing.finishing))
    wall, pipe, finishing = (statistics.median(column) for column in zip(*rows, strict=True))
    return {"wall": wall, "pipeline": pipe, "finishing": finishing,
            "overhead": wall - pipe, "rest": wall - pipe - finishing}


def _request(engine: Any, seconds: int) -> dict[str, Any]:
    sings = engine.capabilities.lyrics
    return {"prompt": PROMPT, "instrumental": not sings, "lyrics": None,
            "duration_seconds": seconds}


class _default_dtype:
    """Build full-size weights straight in the serving dtype (half the memory of float32)."""

    def __init__(self, torch: Any, dtype: str):
        self.torch, self.dtype = torch, getattr(torch, dtype)

    def __enter__(self) -> None:
        self.before = self.torch.get_default_dtype()
        self.torch.set_default_dtype(self.dtype)

    def __exit__(self, *_: object) -> None:
        self.torch.set_default_dtype(self.before)


def _peak_rss_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _gpu_peak_mb(device: str) -> int | None:
    import torch

    if not device.startswith("cuda"):
        return None
    return int(torch.cuda.max_memory_allocated(device) // 2**20)


def report(result: dict[str, Any]) -> None:
    gpu = f", GPU peak {result['gpu_peak_mb']} MB" if result["gpu_peak_mb"] is not None else ""
    print(f"\n{result['pipeline']}: built in {result['build_s']:.1f} s, loaded in "
          f"{result['load_s']:.1f} s, peak RSS {result['peak_rss_mb']} MB{gpu}")
    print("  track   job wall  pipeline  RTF      finishing  other overhead  overhead/pipeline")
    for seconds, t in result["tracks"].items():
        rtf = seconds / t["pipeline"] if t["pipeline"] else float("inf")
        share = t["rest"] / t["pipeline"] if t["pipeline"] else float("inf")
        print(f"  {seconds:4d} s  {t['wall']:7.2f} s  {t['pipeline']:6.2f} s  {rtf:6.1f}x  "
              f"{t['finishing']:7.2f} s  {t['rest'] * 1000:9.0f} ms  {share:8.1%} "
              f"(with finishing {t['overhead'] / t['pipeline']:.0%})")


def count_parameters(pipeline: str, full_size: bool) -> str:
    """Build the pipeline on torch's meta device (no memory, no weights) and count them."""
    import torch

    from tunesmith.engines.neural import random_weights

    builder = {"stable-audio-3": random_weights.stable_audio_3,
               "ace-step-1.5": random_weights.ace_step,
               "minimax-music-3": random_weights.minimax_music_3,
               "stable-audio-open": random_weights.stable_audio_open}[pipeline]
    with torch.device("meta"):
        pipe = builder(not full_size)
    counts = {name: sum(p.numel() for p in part.parameters())
              for name, part in pipe.components.items() if isinstance(part, torch.nn.Module)}
    parts = ", ".join(f"{name} {n / 1e9:.2f}B" for name, n in counts.items())
    return f"{pipeline}: {sum(counts.values()) / 1e9:.2f}B parameters ({parts})"


def finishing_on_music_like_audio(seconds: int) -> float:
    """Seconds to resample, cut, master and encode ``seconds`` of 48 kHz stereo audio with a
    music-like spectrum and envelope (the tiny models' output, at 16-100 Hz before
    resampling, is nothing like it, and the master works harder on it)."""
    import numpy as np
    from scipy.signal import lfilter

    from tunesmith.engines.neural.finish import finish

    rng = np.random.default_rng(0)
    rate = 48000
    noise = lfilter([1.0], [1.0, -0.95], rng.standard_normal((2, (seconds + 1) * rate)))
    beat = 0.6 + 0.4 * np.sin(2 * np.pi * 2.0 * np.arange(noise.shape[1]) / rate) ** 2
    audio = (0.05 * noise * beat).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        finish(audio, rate, seconds, Path(tmp) / "t.mp3")
        return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(PIPELINES))
    parser.add_argument("--seconds", default="30,180", help="track lengths, comma-separated")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=None, help="default: the pipeline's")
    parser.add_argument("--full-size", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--count-only", action="store_true",
                        help="only count each model's parameters (built on the meta device)")
    ns = parser.parse_args()
    if ns.count_only:
        for pipeline in ns.models.split(","):
            print(count_parameters(pipeline, ns.full_size))
        return
    args = {"seconds": [int(s) for s in ns.seconds.split(",")], "runs": ns.runs,
            "steps": ns.steps, "full_size": ns.full_size, "device": ns.device,
            "dtype": ns.dtype, "threads": ns.threads}
    size = "published size" if ns.full_size else "tiny"
    print(f"neural bench: {size} random weights on {ns.device} ({ns.dtype}), "
          f"{ns.threads} thread(s), steps {ns.steps or 'default'}, {ns.runs} run(s) each")
    for seconds in args["seconds"]:
        print(f"finishing (resample, cut, master, encode) of {seconds} s of 48 kHz music-like "
              f"audio: {finishing_on_music_like_audio(seconds):.2f} s")
    context = mp.get_context("spawn")
    for pipeline in ns.models.split(","):
        with context.Pool(1) as pool:  # a process per model: its peak memory is its own
            report(pool.apply(measure_model, (pipeline, args)))


if __name__ == "__main__":
    main()
