"""A worker hands the memory a finished job freed back to the system."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")

_SCRIPT = textwrap.dedent("""
    from tunesmith.jobs.worker import release_memory

    def rss_mb():
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024

    # 300 MB in heap-sized blocks with one kept at the top: glibc cannot shrink the heap
    # past it, so freeing the rest leaves the pages mapped until they are trimmed.
    blocks = [bytearray(b"x" * 100_000) for _ in range(3000)]
    keep = bytearray(b"x" * 100_000)
    del blocks
    held = rss_mb()
    trimmed = release_memory()
    print(held, rss_mb(), trimmed)
""")


def test_release_memory_returns_freed_heap_pages() -> None:
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    held, after, trimmed = float(out[0]), float(out[1]), out[2]
    assert trimmed == "True"
    assert held - after > 200, f"RSS {held:.0f} MB before trimming, {after:.0f} MB after"


_ARENAS_SCRIPT = textwrap.dedent("""
    import ctypes, ctypes.util, sys, threading
    from tunesmith.jobs.worker import limit_arenas

    if sys.argv[1] == "limited":
        assert limit_arenas()
    start = threading.Barrier(8)

    def churn():
        start.wait()
        for _ in range(3000):
            blocks = [bytearray(2000) for _ in range(20)]
            del blocks

    threads = [threading.Thread(target=churn) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ctypes.CDLL(ctypes.util.find_library("c")).malloc_stats()  # one "Arena n:" per arena
""")


def _arenas(mode: str) -> int:
    err = subprocess.run([sys.executable, "-c", _ARENAS_SCRIPT, mode], capture_output=True,
                         text=True, check=True, timeout=60).stderr
    return err.count("Arena ")


def test_a_worker_s_threads_share_two_malloc_arenas() -> None:
    assert _arenas("free") > 2, "eight allocating threads should have made arenas of their own"
    assert _arenas("limited") <= 2
