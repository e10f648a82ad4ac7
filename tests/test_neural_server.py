"""Local neural models through the real server: workers that hold a tiny model, over HTTP.

A request comes back as our stored MP3 of the exact length; the same seed gives the same
file; progress events come from the denoising steps; cancel and deadlines stop a run
between steps and the worker that holds the model goes on serving it; what a model cannot
do is a 400, and a model whose weights or GPU are missing is a 503 that names what is.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("diffusers")

from tests.conftest import make_settings
from tests.support.neural import tiny_model
from tests.support.server import FakeClock, running_server
from tunesmith.audio.codec import SAMPLE_RATE, read_audio
from tunesmith.config import LocalModel, Settings
from tunesmith.jobs.store import JobStore

ACE, SLOW, BROKEN = "local/ace-step", "local/ace-step-slow", "local/broken"
#: Enough steps that a job is still denoising when the test cancels it (a few ms each).
SLOW_STEPS = 10000


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("neural-models")


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def served(models_dir: Path, tmp_path_factory: pytest.TempPathFactory,
           clock: FakeClock) -> Iterator[tuple[str, Settings]]:
    """One general worker, and one worker holding each local model."""
    broken = models_dir / "broken"
    broken.mkdir()
    (broken / "model_index.json").write_text('{"_class_name": "AceStepPipeline"}')
    models = {ACE: tiny_model(models_dir, "ace-step-1.5"),
              SLOW: tiny_model(models_dir, "ace-step-1.5", steps=SLOW_STEPS),
              BROKEN: LocalModel(pipeline="ace-step-1.5", path=broken, device="cpu")}
    settings = make_settings(tmp_path_factory.mktemp("neural-server"), workers=1,
                             local_models=models, fallback_model="", sync_wait_seconds=60.0)
    with running_server(settings, clock=clock) as url:
        # Workers load their model as they start (importing torch takes a while): wait for it.
        warm = post(url, model=ACE, duration_seconds=5, respond_async=True).json()
        wait_for(url, warm["id"], ("completed",), timeout=180)
        yield url, settings


def post(url: str, **body: Any) -> httpx.Response:
    headers = {"Prefer": "respond-async"} if body.pop("respond_async", False) else {}
    body.setdefault("prompt", "dreamy synth pop with a steady beat")
    return httpx.post(f"{url}/v1/audio/generations", json=body, headers=headers, timeout=120)


def wait_for(url: str, job_id: str, statuses: tuple[str, ...], timeout: float = 90) -> dict:
    until = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while time.monotonic() < until:
        state = httpx.get(f"{url}/v1/audio/generations/{job_id}").json()
        if state["status"] in statuses:
            return state
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {statuses}: {state}")


def denoising_event(events_url: str) -> dict[str, Any]:
    """Follow the job's Server-Sent Events to its first progress report from a step."""
    with httpx.stream("GET", events_url, timeout=90) as stream:
        kind = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
                if kind == "progress" and data["stage"] == "denoising" \
                        and data["progress"] > 0.05:
                    return data
                assert kind == "progress", f"the job ended before denoising: {data}"
    raise AssertionError("the event stream ended")


def worker_of(settings: Settings, job_id: str) -> str | None:
    job = JobStore(settings.resolved_database_url).get(job_id)
    return job.worker if job else None


def test_a_track_comes_back_stored_at_the_exact_length_with_lyrics_written(
        served: tuple[str, Settings]) -> None:
    url, _ = served
    response = post(url, model=ACE, duration_seconds=6, seed=3)
    assert response.status_code == 200, response.text
    assert response.json()["model"] == ACE
    item = response.json()["data"][0]
    assert item["duration_seconds"] == 6 and item["duration_ms"] == 6000
    assert item["lyrics"].startswith("[Verse]\n")  # the lyricist wrote them
    download = httpx.get(item["url"], timeout=30)
    assert download.status_code == 200 and download.headers["content-type"] == "audio/mpeg"
    path = Path(served[1].data_dir) / "check.mp3"
    path.write_bytes(download.content)
    audio, rate = read_audio(path)
    assert rate == SAMPLE_RATE and audio.shape == (2, 6 * SAMPLE_RATE)


def test_the_same_seed_gives_the_same_file(served: tuple[str, Settings]) -> None:
    url, _ = served

    def track(seed: int) -> bytes:
        response = post(url, model=ACE, duration_seconds=5, seed=seed, instrumental=True)
        assert response.status_code == 200, response.text
        return httpx.get(response.json()["data"][0]["url"], timeout=30).content

    first = track(42)
    assert track(42) == first
    assert track(43) != first


def test_cancel_stops_a_run_between_steps_and_the_worker_serves_on(
        served: tuple[str, Settings]) -> None:
    url, settings = served
    job = post(url, model=SLOW, duration_seconds=5, respond_async=True).json()
    seen = denoising_event(job["events_url"])
    assert seen["progress"] < 0.88
    canceled = httpx.delete(f"{url}/v1/audio/generations/{job['id']}")
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    holder = worker_of(settings, job["id"])
    # The next job of that model starts within seconds on the same worker: the canceled run
    # stopped at its next step instead of denoising to the end.
    following = post(url, model=SLOW, duration_seconds=5, respond_async=True).json()
    denoising_event(following["events_url"])
    assert worker_of(settings, following["id"]) == holder
    httpx.delete(f"{url}/v1/audio/generations/{following['id']}")
    wait_for(url, following["id"], ("canceled",))


def test_a_deadline_ends_a_run_with_504_between_steps(
        served: tuple[str, Settings], clock: FakeClock) -> None:
    url, settings = served
    job = post(url, model=SLOW, duration_seconds=5, respond_async=True).json()
    denoising_event(job["events_url"])
    clock.advance(settings.job_deadline_seconds + 10)
    failed = wait_for(url, job["id"], ("failed",))
    assert failed["error"]["code"] == "timeout" and "deadline" in failed["error"]["message"]
    holder = worker_of(settings, job["id"])
    done = post(url, model=ACE, duration_seconds=5, seed=9)
    assert done.status_code == 200, done.text
    assert worker_of(settings, done.json()["id"]) != holder  # ACE has its own worker
    following = post(url, model=SLOW, duration_seconds=5, respond_async=True).json()
    denoising_event(following["events_url"])
    assert worker_of(settings, following["id"]) == holder
    httpx.delete(f"{url}/v1/audio/generations/{following['id']}")


def test_a_model_whose_weights_do_not_load_fails_its_job_with_503(
        served: tuple[str, Settings]) -> None:
    url, _ = served
    listed = {m["id"]: m for m in httpx.get(f"{url}/v1/models").json()["data"]}
    assert listed[ACE]["available"] and listed[ACE]["supports_instrumental"]
    response = post(url, model=BROKEN, duration_seconds=5)
    assert response.status_code == 503, response.text
    assert "could not be loaded" in response.json()["error"]["message"]


def test_general_workers_never_take_a_local_models_job(tmp_path: Path) -> None:
    jobs = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    local, _ = jobs.create(model=ACE, request={}, seed=1, deadline_s=60)
    other, _ = jobs.create(model="test/staged", request={}, seed=1, deadline_s=60)
    taken = jobs.claim("general", 30, skip={ACE})
    assert taken is not None and taken.id == other.id
    assert jobs.claim("general", 30, skip={ACE}) is None
    held = jobs.claim("holder", 30, only=(ACE,))
    assert held is not None and held.id == local.id


# -- answered before any worker: a server without workers ------------------------------------
@pytest.fixture(scope="module")
def listing(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    models = {"local/minimax-music-3": tiny_model(models_dir, "minimax-music-3"),
              "local/stable-audio-3": tiny_model(models_dir, "stable-audio-3"),
              "local/stable-audio-open": tiny_model(models_dir, "stable-audio-open"),
              "local/missing": LocalModel(pipeline="ace-step-1.5",
                                          path=models_dir / "not-here", device="cpu"),
              "local/gpu": LocalModel(pipeline="ace-step-1.5", path=models_dir / "ace-step-1.5",
                                      device="cuda:9", price_usd=0.02)}
    settings = Settings(data_dir=tmp_path_factory.mktemp("neural-list"), fallback_model="",
                        signing_secret="test-secret-0123456789", local_models=models)
    with running_server(settings, workers=False) as url:
        yield url


def test_models_list_local_models_with_their_capabilities(listing: str) -> None:
    models = {m["id"]: m for m in httpx.get(f"{listing}/v1/models").json()["data"]}
    minimax, audio = models["local/minimax-music-3"], models["local/stable-audio-3"]
    assert minimax["available"] and minimax["supports_lyrics"]
    assert not minimax["supports_instrumental"] and minimax["exact_duration"]
    assert not audio["supports_lyrics"] and audio["supports_instrumental"]
    assert audio["min_duration_seconds"] == 5 and audio["max_duration_seconds"] == 240
    assert models["local/stable-audio-open"]["max_duration_seconds"] == 47
    assert models["local/gpu"]["pricing"]["per_track"] == 0.02
    assert models["minimax/music-3.0"] and models["minimax/music-3.0-free"]


@pytest.mark.parametrize(("model", "body", "param"), [
    ("local/minimax-music-3", {"instrumental": True}, "instrumental"),
    ("local/stable-audio-3", {"lyrics": "[Verse]\nLa la la"}, "lyrics"),
    ("local/stable-audio-open", {"duration_seconds": 60}, "duration_seconds"),
])
def test_what_a_model_cannot_do_is_a_400(listing: str, model: str, body: dict[str, Any],
                                         param: str) -> None:
    response = post(listing, model=model, **body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


@pytest.mark.parametrize(("model", "named"), [("local/missing", "not-here"),
                                              ("local/gpu", "cuda:9")])
def test_a_missing_folder_or_gpu_is_a_503_naming_it(listing: str, model: str,
                                                    named: str) -> None:
    response = post(listing, model=model)
    assert response.status_code == 503
    assert named in response.json()["error"]["message"]
