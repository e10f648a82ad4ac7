"""Real servers on loopback for tests: uvicorn in a thread, or ``tunesmith serve`` as a process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from tunesmith.api.app import build_app
from tunesmith.config import Settings
from tunesmith.jobs.store import Clock


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeClock:
    """A clock tests can move forward; starts at real time."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@contextmanager
def running_server(settings: Settings, clock: Clock = time.time,
                   workers: bool = True) -> Iterator[str]:
    """Serve ``build_app(settings)`` on a free loopback port; yields the base URL."""
    port = free_port()
    app = build_app(settings, clock=clock, workers=workers)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    _wait_until_up(url, lambda: thread.is_alive())
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def server_process(env: dict[str, str], cwd: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``tunesmith serve`` in its own process (for crash and restart tests)."""
    port = free_port()
    full_env = {**os.environ, **env, "TUNESMITH_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "tunesmith", "serve"], env=full_env, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, lambda: proc.poll() is None, timeout=60)
        yield url, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _wait_until_up(url: str, alive: object, timeout: float = 30) -> None:
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        if not alive():  # type: ignore[operator]
            raise RuntimeError("server exited during start-up")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server at {url} did not start in {timeout} s")
