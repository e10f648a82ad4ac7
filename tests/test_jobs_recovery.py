"""Nothing is lost: full queues, deadlines, crashed workers, restarts, sweeping."""

from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.conftest import TEST_ENGINE, make_settings
from tests.support.server import running_server, server_process
from tunesmith.jobs.pool import WorkerPool
from tunesmith.jobs.store import JobStore
from tunesmith.storage import LocalStore

REPO = Path(__file__).resolve().parents[1]


def post(url: str, body: object, **headers: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/audio/generations", json=body, headers=headers, timeout=60)


def wait_for(url: str, job_id: str, statuses: tuple[str, ...], timeout: float = 60) -> dict:
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        state = httpx.get(f"{url}/v1/audio/generations/{job_id}").json()
        if state["status"] in statuses:
            return state
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never reached {statuses}: {state}")


def test_full_queue_answers_429_with_retry_after(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, workers=1, queue_limit=2)
    with running_server(settings) as url:
        slow = {"prompt": "stages=10 sleep=0.3", "duration_seconds": 5}
        assert post(url, slow, Prefer="respond-async").status_code == 202
        assert post(url, slow, Prefer="respond-async").status_code == 202
        r = post(url, slow, Prefer="respond-async")
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) >= 1 and r.json()["error"]["code"] == "queue_full"


def test_rate_limit_per_client(tmp_path: Path) -> None:
    with running_server(make_settings(tmp_path, rate_limit_per_minute=2)) as url:
        quick = {"prompt": "stages=1", "duration_seconds": 5}
        assert post(url, quick, Prefer="respond-async").status_code == 202
        assert post(url, quick, Prefer="respond-async").status_code == 202
        r = post(url, quick, Prefer="respond-async")
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(r.headers["Retry-After"]) <= 61


def test_deadline_fails_the_job_with_504_and_replaces_the_worker(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, workers=1, job_deadline_seconds=1.0)
    with running_server(settings) as url:
        r = post(url, {"prompt": "hang", "duration_seconds": 5})
        assert r.status_code == 504, r.text
        error = r.json()["error"]
        assert error["code"] == "timeout" and error["job_id"] in error["message"]
        assert r.headers["Retry-After"]
        # the hung worker is replaced and the next job runs
        time.sleep(6)
        ok = post(url, {"prompt": "stages=1", "duration_seconds": 5})
        assert ok.status_code == 200, ok.text


def test_crashed_worker_job_is_retried_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, workers=1)
    os.environ["TUNESMITH_TEST_MARKERS"] = str(tmp_path / "markers")
    try:
        with running_server(settings) as url:
            r = post(url, {"prompt": "crash-once stages=2", "duration_seconds": 5, "seed": 7})
            assert r.status_code == 200, r.text
    finally:
        del os.environ["TUNESMITH_TEST_MARKERS"]


def test_job_that_always_crashes_fails_after_max_attempts(tmp_path: Path) -> None:
    with running_server(make_settings(tmp_path, workers=1, max_attempts=2)) as url:
        r = post(url, {"prompt": "crash stages=3", "duration_seconds": 5})
        assert r.status_code == 500
        error = r.json()["error"]
        assert error["code"] == "worker_lost" and "2 runs" in error["message"]
        assert httpx.get(f"{url}/healthz").json()["workers"]["alive"] == 1


def test_restart_with_a_job_in_flight_finishes_it(tmp_path: Path) -> None:
    env = {"TUNESMITH_DATA_DIR": str(tmp_path / "data"), "TUNESMITH_WORKERS": "1",
           "TUNESMITH_ENGINE_PLUGINS": json.dumps([TEST_ENGINE]),
           "TUNESMITH_DEFAULT_MODEL": "test/staged",
           "TUNESMITH_SIGNING_SECRET": "restart-secret-0123456789"}
    with server_process(env, REPO) as (url, proc):
        running = post(url, {"prompt": "stages=30 sleep=0.2", "duration_seconds": 5},
                       Prefer="respond-async").json()
        queued = post(url, {"prompt": "stages=1", "duration_seconds": 5},
                      Prefer="respond-async").json()
        wait_for(url, running["id"], ("in_progress",))
        os.killpg(proc.pid, signal.SIGKILL)  # the whole server and its workers die
        proc.wait()
    with server_process(env, REPO) as (url, _):
        for job in (running, queued):
            done = wait_for(url, job["id"], ("completed", "failed"), timeout=90)
            assert done["status"] == "completed", done
            assert httpx.get(done["data"][0]["url"]).status_code == 200


def test_concurrent_requests_all_get_tracks(tmp_path: Path) -> None:
    with running_server(make_settings(tmp_path, queue_limit=64)) as url:
        def one(i: int) -> int:
            return post(url, {"prompt": "stages=2 sleep=0.05", "duration_seconds": 5,
                              "seed": i}).status_code

        with ThreadPoolExecutor(max_workers=24) as pool:
            statuses = list(pool.map(one, range(24)))
    assert statuses == [200] * 24


def test_sweep_deletes_expired_tracks_and_orphans(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    jobs = JobStore(settings.resolved_database_url)
    tracks = LocalStore(settings.tracks_dir, settings.secret_bytes())
    job, _ = jobs.create(model="test/staged", request={}, seed=1, deadline_s=60)
    assert jobs.claim("w", 30) is not None
    (tmp_path / "a.mp3").write_bytes(b"x")
    tracks.put(tmp_path / "a.mp3", f"{job.id}.mp3")
    assert jobs.complete(job.id, "w", f"{job.id}.mp3", {"duration_seconds": 1}, ttl_s=100)
    orphan = settings.tracks_dir / "orphan.mp3"
    orphan.write_bytes(b"x")
    os.utime(orphan, (0, 0))
    pool = WorkerPool(settings, jobs, tracks)
    assert pool.sweep(time.time() + 50) == 1 and not orphan.exists()
    assert (settings.tracks_dir / f"{job.id}.mp3").exists()
    assert pool.sweep(time.time() + 101) == 1
    assert not (settings.tracks_dir / f"{job.id}.mp3").exists()
    assert jobs.get(job.id).swept
