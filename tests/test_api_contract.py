"""The HTTP contract against a real server on loopback (test engine: fast and steerable)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings
from tests.support.server import FakeClock, running_server
from tunesmith.audio.codec import duration_seconds

CLOCK = FakeClock()


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(tmp_path_factory.mktemp("data"), max_body_bytes=4096)
    with running_server(settings, clock=CLOCK) as base:
        yield base


def post(url: str, body: object, **headers: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/audio/generations", json=body, headers=headers, timeout=60)


@pytest.mark.parametrize("prefix", ["", "/api"])
def test_contract_example_returns_a_stored_playable_mp3(url: str, prefix: str,
                                                        tmp_path: Path) -> None:
    r = httpx.post(f"{url}{prefix}/v1/audio/generations", timeout=60,
                   json={"prompt": "upbeat synthwave", "instrumental": True,
                         "duration_seconds": 7})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"created", "model", "data"}
    assert body["model"] == "test/staged" and isinstance(body["created"], int)
    item = body["data"][0]
    assert item["duration_seconds"] == 7 and item["duration_ms"] == 7000
    audio = httpx.get(item["url"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
    path = tmp_path / "t.mp3"
    path.write_bytes(audio.content)
    assert abs(duration_seconds(path) - 7.0) < 0.001


def test_unknown_fields_are_ignored_and_seed_is_returned(url: str) -> None:
    r = post(url, {"prompt": "x", "duration_seconds": 5, "seed": 42, "colour": "blue"})
    assert r.status_code == 200, r.text
    assert r.json()["data"][0]["seed"] == 42


@pytest.mark.parametrize(("body", "param"), [
    ({}, "prompt"),
    ({"prompt": ""}, "prompt"),
    ({"prompt": "   "}, "prompt"),
    ({"prompt": "x" * 2001}, "prompt"),
    ({"prompt": 5}, "prompt"),
    ({"prompt": "x", "instrumental": True, "lyrics": "la la"}, "lyrics"),
    ({"prompt": "x", "lyrics": ""}, "lyrics"),
    ({"prompt": "x", "lyrics": "a" * 3501}, "lyrics"),
    ({"prompt": "x", "duration_seconds": 4}, "duration_seconds"),
    ({"prompt": "x", "duration_seconds": 241}, "duration_seconds"),
    ({"prompt": "x", "duration_seconds": 30.5}, "duration_seconds"),
    ({"prompt": "x", "duration_seconds": "long"}, "duration_seconds"),
    ({"prompt": "x", "instrumental": "yes"}, "instrumental"),
    ({"prompt": "x", "seed": -1}, "seed"),
    ({"prompt": "x", "model": "nobody/nothing"}, "model"),
])
def test_bad_parameters_get_400_naming_the_field(url: str, body: dict[str, object],
                                                 param: str) -> None:
    r = post(url, body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error" and len(error["message"]) > 10


def test_body_that_is_not_json_or_not_an_object_gets_400(url: str) -> None:
    r = httpx.post(f"{url}/v1/audio/generations", content=b"{nope",
                   headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    assert post(url, ["prompt"]).status_code == 400


def test_oversized_body_is_refused(url: str) -> None:
    r = post(url, {"prompt": "x", "lyrics": "la " * 3000})
    assert r.status_code == 413
    assert "larger than" in r.json()["error"]["message"]


def test_async_job_polls_to_completion_with_progress(url: str) -> None:
    r = post(url, {"prompt": "stages=4 sleep=0.2", "duration_seconds": 5},
             Prefer="respond-async")
    assert r.status_code == 202
    job = r.json()
    assert job["object"] == "audio.generation.job" and job["status"] in ("queued", "in_progress")
    assert job["poll_url"].endswith(f"/v1/audio/generations/{job['id']}")
    seen = set()
    for _ in range(200):
        state = httpx.get(job["poll_url"]).json()
        seen.add((state["status"], state["stage"]))
        if state["status"] == "completed":
            break
        httpx.get(f"{url}/healthz")
    assert state["status"] == "completed" and state["progress"] == 1.0
    assert state["data"][0]["url"].startswith("http")
    assert any(status == "in_progress" for status, _ in seen)


def test_events_stream_reports_progress_then_completion(url: str) -> None:
    job = post(url, {"prompt": "stages=3 sleep=0.3", "duration_seconds": 5},
               Prefer="respond-async").json()
    events = []
    with httpx.stream("GET", job["events_url"], timeout=30) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("event: "):
                events.append(line[7:])
    assert events[-1] == "completed" and events.count("progress") >= 2


def test_unknown_job_is_404(url: str) -> None:
    for method in ("GET", "DELETE"):
        r = httpx.request(method, f"{url}/v1/audio/generations/gen_missing")
        assert r.status_code == 404 and r.json()["error"]["code"] == "job_not_found"


def test_cancel_running_job_stops_it_and_is_not_resumed(url: str) -> None:
    job = post(url, {"prompt": "stages=20 sleep=0.2"}, Prefer="respond-async").json()
    for _ in range(100):
        if httpx.get(job["poll_url"]).json()["status"] == "in_progress":
            break
    r = httpx.delete(job["poll_url"])
    assert r.status_code == 200 and r.json()["status"] == "canceled"
    again = httpx.get(job["poll_url"]).json()
    assert again["status"] == "canceled" and "data" not in again
    assert httpx.delete(job["poll_url"]).status_code == 409


def test_idempotency_key_returns_the_same_job(url: str) -> None:
    body = {"prompt": "stages=2 sleep=0.1", "duration_seconds": 5}
    first = post(url, body, **{"Idempotency-Key": "k-1"})
    second = post(url, body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    other = post(url, {**body, "prompt": "something else"}, **{"Idempotency-Key": "k-1"})
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_tampered_links_are_refused(url: str) -> None:
    link = post(url, {"prompt": "x", "duration_seconds": 5}).json()["data"][0]["url"]
    base, query = link.split("?")
    params = dict(p.split("=") for p in query.split("&"))
    forged_sig = f"{base}?expires={params['expires']}&sig={'0' * 64}"
    longer = f"{base}?expires={int(params['expires']) + 999}&sig={params['sig']}"
    other_key = link.replace("/files/gen_", "/files/gen_0")
    for bad in (forged_sig, longer, other_key, base):
        r = httpx.get(bad)
        assert r.status_code == 403, bad
        assert r.json()["error"]["code"] == "invalid_link"
    assert httpx.get(link).status_code == 200


def test_range_requests(url: str) -> None:
    link = post(url, {"prompt": "x", "duration_seconds": 5}).json()["data"][0]["url"]
    whole = httpx.get(link).content
    part = httpx.get(link, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole)}"


def test_failed_generation_answers_500_without_internals(url: str) -> None:
    r = post(url, {"prompt": "fail", "duration_seconds": 5})
    assert r.status_code == 500
    error = r.json()["error"]
    assert "passwd" not in r.text and "Traceback" not in r.text
    assert error["code"] == "generation_failed" and error["job_id"].startswith("gen_")
    polled = httpx.get(f"{url}/v1/audio/generations/{error['job_id']}").json()
    assert polled["status"] == "failed" and polled["error"]["code"] == "generation_failed"


def test_models_lists_price_capabilities_and_availability(url: str) -> None:
    for path in ("/v1/models", "/v1/audio/models", "/api/v1/audio/models"):
        models = {m["id"]: m for m in httpx.get(f"{url}{path}").json()["data"]}
        composer = models["tunesmith/composer-1"]
        assert composer["available"] is True and composer["billing_mode"] == "per_track"
        assert composer["pricing"]["per_track"] == 0.01
        assert composer["supports_instrumental"] is True
        assert composer["max_duration_seconds"] == 240


def test_health_and_metrics(url: str) -> None:
    health = httpx.get(f"{url}/healthz").json()
    assert health["status"] == "ok" and health["workers"]["alive"] == 2
    assert "queued" in health["queue"]
    text = httpx.get(f"{url}/metrics").text
    assert "tunesmith_jobs{status=\"completed\"}" in text
    assert "tunesmith_http_requests_total" in text


def test_expired_tracks_get_403_links_410_polls_and_are_swept(url: str) -> None:
    item = post(url, {"prompt": "x", "duration_seconds": 5}).json()["data"][0]
    CLOCK.advance(86400 + 10)
    try:
        assert httpx.get(item["url"]).status_code == 403
        poll = httpx.get(f"{url}/v1/audio/generations/{item['id']}")
        assert poll.status_code == 410 and poll.json()["error"]["code"] == "track_expired"
    finally:
        CLOCK.advance(-(86400 + 10))
