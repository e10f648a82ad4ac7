"""Service benchmark: time from POST to a stored track, and how many concurrent requests hold.

Starts `tunesmith serve` on a free loopback port with a fresh data folder and the built-in
composer, then prints figures. Usage:

    .venv/bin/python bench/service_bench.py [--runs 3] [--concurrent 16] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

PROMPTS = [
    "upbeat synthwave with warm neon pads and a driving beat",
    "chill lo-fi hip hop, late night study vibes",
    "jazz trio, upright bass, brushed snare, bebop swing",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(workers: int, queue_limit: int) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    env = {**os.environ, "TUNESMITH_DATA_DIR": tempfile.mkdtemp(prefix="tunesmith-bench-"),
           "TUNESMITH_PORT": str(port), "TUNESMITH_WORKERS": str(workers),
           "TUNESMITH_QUEUE_LIMIT": str(queue_limit), "TUNESMITH_RATE_LIMIT_PER_MINUTE": "0",
           "TUNESMITH_SYNC_WAIT_SECONDS": "600"}
    proc = subprocess.Popen([sys.executable, "-m", "tunesmith", "serve"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).json()["workers"]["alive"] == workers:
                return url, proc
        except (httpx.TransportError, KeyError, ValueError):
            pass
        time.sleep(0.1)
    raise SystemExit("server did not start")


def generate(url: str, prompt: str, duration: int, seed: int) -> tuple[float, int]:
    started = time.perf_counter()
    r = httpx.post(f"{url}/v1/audio/generations", timeout=900,
                   json={"prompt": prompt, "instrumental": True, "duration_seconds": duration,
                         "seed": seed})
    return time.perf_counter() - started, r.status_code


def latency(url: str, duration: int, runs: int) -> None:
    generate(url, PROMPTS[0], 5, 0)  # warm the workers (imports, SoundFont load)
    times = []
    for i in range(runs):
        for prompt in PROMPTS:
            seconds, status = generate(url, prompt, duration, 100 + i)
            assert status == 200, status
            times.append(seconds)
    print(f"POST -> stored {duration:>3} s track: median {statistics.median(times):.2f} s, "
          f"min {min(times):.2f} s, max {max(times):.2f} s over {len(times)} requests")


def concurrency(url: str, clients: int, duration: int) -> None:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(lambda i: generate(url, PROMPTS[i % 3], duration, i),
                                range(clients)))
    wall = time.perf_counter() - started
    ok = sum(1 for _, status in results if status == 200)
    print(f"{clients} concurrent {duration} s requests: {ok} x 200, {clients - ok} errors, "
          f"all done in {wall:.1f} s ({clients * duration / wall:.1f} s of music per second)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--concurrent", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    url, proc = start_server(args.workers, queue_limit=max(64, args.concurrent))
    try:
        print(f"server {url}, {args.workers} workers, {os.cpu_count()} CPUs")
        latency(url, 30, args.runs)
        latency(url, 180, args.runs)
        concurrency(url, args.concurrent, 30)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
