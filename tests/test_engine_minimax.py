"""The MiniMax engine through our public API, against a fake MiniMax on loopback.

Every test posts to a real tunesmith server whose ``minimax_base_url`` points at the fake and
checks what a client sees: status, error envelope, Retry-After, our own track link, the
measured duration and the lyrics.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_settings
from tests.support.fake_upstreams import (
    API_KEY, AUTO_LYRICS, TRACK_SECONDS, FakeMiniMax, Reply, make_track, running,
)
from tests.support.paid import PAYER, ledger_of, paid_settings, payment_for
from tests.support.server import running_server
from tunesmith.config import BUILTIN_MODEL, Settings
from tunesmith.engines import upstream
from tunesmith.engines.minimax import STATUS_CODES

MODEL = "minimax/music-2.5+"
MUSIC, LYRICS = "/v1/music_generation", "/v1/lyrics_generation"
SONG = "[Verse]\nSunshine in the morning\nBrightens up my day\n[Chorus]\nEvery step I take"


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeMiniMax, str]]:
    track = make_track(tmp_path_factory.mktemp("fake") / "track.mp3")
    minimax = FakeMiniMax(track)
    with running(minimax.app()) as url:
        yield minimax, url


@pytest.fixture
def minimax(fake: tuple[FakeMiniMax, str]) -> Iterator[FakeMiniMax]:
    fake[0].reset()
    yield fake[0]
    fake[0].reset()


def _server(tmp: Path, fake_url: str, **overrides: Any) -> Iterator[str]:
    settings = make_settings(tmp, minimax_api_key=API_KEY, minimax_base_url=fake_url,
                             upstream_timeout_seconds=2.0, **overrides)
    with running_server(settings) as url:
        yield url


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory, fake: tuple[FakeMiniMax, str]) -> Iterator[str]:
    """Our server, MiniMax answering with links."""
    yield from _server(tmp_path_factory.mktemp("mm-url"), fake[1])


@pytest.fixture(scope="module")
def hex_url(tmp_path_factory: pytest.TempPathFactory,
            fake: tuple[FakeMiniMax, str]) -> Iterator[str]:
    """Our server, MiniMax answering with inline hex audio."""
    yield from _server(tmp_path_factory.mktemp("mm-hex"), fake[1], minimax_output_format="hex")


def generate(url: str, headers: dict[str, str] | None = None, **fields: Any) -> httpx.Response:
    body = {"model": MODEL, "prompt": "upbeat synthwave with warm neon pads", **fields}
    return httpx.post(f"{url}/v1/audio/generations", json=body, headers=headers, timeout=60)


def assert_our_track(url: str, response: httpx.Response, track: bytes) -> dict[str, Any]:
    """200 with one item whose link is ours, serves the upstream's bytes, and is measured."""
    assert response.status_code == 200, response.text
    item: dict[str, Any] = response.json()["data"][0]
    assert item["url"].startswith(f"{url}/v1/files/")
    assert "cdn" not in item["url"]
    assert httpx.get(item["url"], timeout=10).content == track
    assert item["duration_seconds"] == round(TRACK_SECONDS)
    assert abs(item["duration_ms"] - TRACK_SECONDS * 1000) < 30
    return item


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code and error["message"] and "type" in error
    assert error["job_id"].startswith("gen_")
    assert API_KEY not in response.text and "scripted" not in response.text
    return error


# -- availability --------------------------------------------------------------------------------
def test_without_a_key_the_models_are_listed_unavailable_and_say_what_to_set(
        tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, signing_secret="test-secret-0123456789",
                        fallback_model="")
    with running_server(settings, workers=False) as url:
        models = {m["id"]: m for m in httpx.get(f"{url}/v1/models").json()["data"]}
        for name in ("music-2.5+", "music-2.6", "music-2.0"):
            entry = models[f"minimax/{name}"]
            assert entry["available"] is False
            assert "TUNESMITH_MINIMAX_API_KEY" in entry["unavailable_reason"]
            assert entry["supports_lyrics"] and entry["exact_duration"] is False
        response = generate(url)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "model_unavailable"
        assert "TUNESMITH_MINIMAX_API_KEY" in response.json()["error"]["message"]
        queued = httpx.post(f"{url}/v1/audio/generations", json={"prompt": "lo-fi"},
                            headers={"Prefer": "respond-async"})
        assert queued.json()["model"] == BUILTIN_MODEL


def test_without_a_key_the_contract_example_is_made_by_the_fallback_model(
        tmp_path: Path) -> None:
    """On the embedded defaults the contract's curl examples (model minimax/music-2.5+) get a
    real track from the built-in composer, and the response says which model made it."""
    settings = Settings(data_dir=tmp_path, signing_secret="test-secret-0123456789", workers=1)
    with running_server(settings) as url:
        listed = {m["id"]: m for m in httpx.get(f"{url}/v1/models").json()["data"]}
        assert listed[MODEL]["available"] is False
        response = generate(url, instrumental=True, duration_seconds=5)
        assert response.status_code == 200, response.text
        assert response.json()["model"] == BUILTIN_MODEL
        item = response.json()["data"][0]
        assert item["duration_seconds"] == 5
        audio = httpx.get(item["url"])
        assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"


def test_with_a_key_the_models_are_available_and_the_key_is_never_shown(url: str) -> None:
    models = httpx.get(f"{url}/v1/models")
    listed = {m["id"]: m for m in models.json()["data"]}
    assert listed[MODEL]["available"] is True
    assert listed[MODEL]["pricing"]["per_track"] == 0.1575
    assert API_KEY not in models.text + httpx.get(f"{url}/healthz").text


# -- happy paths ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["music-3.0", "music-3.0-free"])
def test_music_3_models_are_listed_and_named_upstream(url: str, minimax: FakeMiniMax,
                                                      name: str) -> None:
    listed = {m["id"]: m for m in httpx.get(f"{url}/v1/models").json()["data"]}
    assert listed[f"minimax/{name}"]["available"]
    assert listed[f"minimax/{name}"]["pricing"]["per_track"] > 0
    assert_our_track(url, generate(url, model=f"minimax/{name}", instrumental=True),
                     minimax.track)
    assert minimax.bodies(MUSIC)[-1]["model"] == name


def test_instrumental_with_a_link_is_downloaded_stored_and_measured(
        url: str, minimax: FakeMiniMax) -> None:
    item = assert_our_track(url, generate(url, instrumental=True, duration_seconds=45),
                            minimax.track)
    assert item.get("lyrics") is None
    [(path, body, auth)] = minimax.calls
    assert path == MUSIC and auth == f"Bearer {API_KEY}"
    assert body["model"] == "music-2.5+" and body["is_instrumental"] is True
    assert body["output_format"] == "url" and "lyrics" not in body
    assert body["audio_setting"] == {"sample_rate": 44100, "bitrate": 256000, "format": "mp3"}
    assert body["prompt"].startswith("upbeat synthwave") and "45 seconds" in body["prompt"]


def test_hex_output_with_lyrics_passes_section_tags_through(
        hex_url: str, minimax: FakeMiniMax) -> None:
    item = assert_our_track(hex_url, generate(hex_url, lyrics=SONG, model="minimax/music-2.6"),
                            minimax.track)
    assert item["lyrics"] == SONG
    [body] = minimax.bodies(MUSIC)
    assert body["lyrics"] == SONG and body["is_instrumental"] is False
    assert body["output_format"] == "hex" and body["model"] == "music-2.6"
    assert minimax.bodies(LYRICS) == []


def test_a_song_without_lyrics_gets_lyrics_written_first_and_returned(
        hex_url: str, minimax: FakeMiniMax) -> None:
    item = assert_our_track(hex_url, generate(hex_url, prompt="pop song about chasing dreams"),
                            minimax.track)
    assert item["lyrics"] == AUTO_LYRICS
    assert [path for path, _, _ in minimax.calls] == [LYRICS, MUSIC]
    assert minimax.bodies(LYRICS) == [{"mode": "write_full_song",
                                       "prompt": "pop song about chasing dreams"}]
    assert minimax.bodies(MUSIC)[0]["lyrics"] == AUTO_LYRICS


def test_the_async_flow_polls_to_our_stored_track(url: str, minimax: FakeMiniMax) -> None:
    created = generate(url, instrumental=True, headers={"Prefer": "respond-async"})
    assert created.status_code == 202
    until = time.monotonic() + 30
    while (job := httpx.get(created.json()["poll_url"]).json())["status"] != "completed":
        assert job["status"] in ("queued", "in_progress") and time.monotonic() < until
        time.sleep(0.1)
    assert job["data"][0]["url"].startswith(f"{url}/v1/files/")
    assert job["data"][0]["duration_seconds"] == round(TRACK_SECONDS)


def test_a_slow_answer_within_the_timeout_still_makes_the_track(
        url: str, minimax: FakeMiniMax) -> None:
    minimax.music.append(Reply(delay=0.8))
    assert_our_track(url, generate(url, instrumental=True), minimax.track)


# -- every mapped base_resp code -----------------------------------------------------------------
CODES = [  # code, our status, our error code, retried, Retry-After
    (1000, 502, "upstream_error", True, "1"),
    (1001, 504, "upstream_timeout", True, "1"),
    (1002, 429, "rate_limited", True, "20"),
    (1004, 503, "upstream_unavailable", False, None),
    (1008, 503, "upstream_unavailable", False, None),
    (1024, 502, "upstream_error", True, "1"),
    (1026, 400, "content_policy_violation", False, None),
    (1027, 400, "content_policy_violation", False, None),
    (1039, 400, "invalid_request", False, None),
    (1041, 429, "rate_limited", True, "20"),
    (2013, 400, "invalid_request", False, None),
    (2049, 503, "upstream_unavailable", False, None),
    (2056, 503, "upstream_quota_exhausted", False, "600"),
]


def test_the_table_covers_every_documented_code() -> None:
    assert sorted(STATUS_CODES) == [case[0] for case in CODES]


@pytest.mark.parametrize(("code", "status", "error_code", "retried", "retry_after"), CODES)
def test_each_upstream_status_code_maps_to_our_error(
        url: str, minimax: FakeMiniMax, code: int, status: int, error_code: str,
        retried: bool, retry_after: str | None) -> None:
    minimax.music.extend(Reply(code=code) for _ in range(upstream.ATTEMPTS))
    response = generate(url, instrumental=True)
    assert_error(response, status, error_code)
    assert response.headers.get("Retry-After") == retry_after
    # Only a complaint about the request's parameters is worth quoting to the caller.
    assert ("upstream says" in response.text) == (code == 2013)
    assert len(minimax.bodies(MUSIC)) == (upstream.ATTEMPTS if retried else 1)


def test_a_rate_limit_that_clears_is_retried_into_a_track(
        url: str, minimax: FakeMiniMax) -> None:
    minimax.music.append(Reply(code=1002))
    assert_our_track(url, generate(url, instrumental=True), minimax.track)
    assert len(minimax.bodies(MUSIC)) == 2


def test_the_lyrics_call_maps_its_errors_too(hex_url: str, minimax: FakeMiniMax) -> None:
    minimax.lyrics.append(Reply(code=1026))
    assert_error(generate(hex_url), 400, "content_policy_violation")
    assert minimax.bodies(MUSIC) == []


# -- HTTP failures -------------------------------------------------------------------------------
def test_http_429_with_a_long_retry_after_is_passed_on_not_waited(
        url: str, minimax: FakeMiniMax) -> None:
    minimax.music.append(Reply(http_status=429, retry_after="120"))
    response = generate(url, instrumental=True)
    assert_error(response, 429, "rate_limited")
    assert response.headers["Retry-After"] == "120"
    assert len(minimax.bodies(MUSIC)) == 1


def test_http_429_with_a_short_retry_after_is_honoured_and_retried(
        url: str, minimax: FakeMiniMax) -> None:
    minimax.music.append(Reply(http_status=429, retry_after="0"))
    assert_our_track(url, generate(url, instrumental=True), minimax.track)
    assert len(minimax.bodies(MUSIC)) == 2


@pytest.mark.parametrize(("http_status", "status", "code", "calls"), [
    (503, 502, "upstream_error", upstream.ATTEMPTS),
    (401, 503, "upstream_unavailable", 1),
    (404, 502, "upstream_error", 1),
])
def test_http_errors_map_to_our_errors(url: str, minimax: FakeMiniMax, http_status: int,
                                       status: int, code: str, calls: int) -> None:
    minimax.music.extend(Reply(http_status=http_status) for _ in range(upstream.ATTEMPTS))
    assert_error(generate(url, instrumental=True), status, code)
    assert len(minimax.bodies(MUSIC)) == calls


def test_an_answer_slower_than_the_timeout_is_a_504_and_not_retried(
        url: str, minimax: FakeMiniMax) -> None:
    minimax.music.append(Reply(delay=4.0))
    started = time.monotonic()
    response = generate(url, instrumental=True)
    assert_error(response, 504, "upstream_timeout")
    assert time.monotonic() - started < 4.0
    assert len(minimax.bodies(MUSIC)) == 1


# -- unfinished answers and bad audio ------------------------------------------------------------
def test_status_1_in_progress_is_retried_until_finished(url: str, minimax: FakeMiniMax) -> None:
    minimax.music.append(Reply(status=1))
    assert_our_track(url, generate(url, instrumental=True), minimax.track)
    assert len(minimax.bodies(MUSIC)) == 2


def test_a_track_that_never_finishes_is_a_502(url: str, minimax: FakeMiniMax) -> None:
    minimax.music.extend(Reply(status=1) for _ in range(upstream.ATTEMPTS))
    assert_error(generate(url, instrumental=True), 502, "upstream_unfinished")


def test_a_failed_download_is_retried(url: str, minimax: FakeMiniMax) -> None:
    minimax.downloads.append(Reply(http_status=503))
    assert_our_track(url, generate(url, instrumental=True), minimax.track)


@pytest.mark.parametrize("output", ["url", "hex"])
def test_audio_that_is_not_an_mp3_is_refused(url: str, hex_url: str, minimax: FakeMiniMax,
                                             output: str) -> None:
    minimax.music.append(Reply(audio=b"<html>not audio</html>" * 50))
    server = url if output == "url" else hex_url
    assert_error(generate(server, instrumental=True), 502, "upstream_bad_audio")


# -- payments: an upstream failure is never charged ----------------------------------------------
def test_a_paid_request_is_charged_once_for_a_track_and_never_for_a_failure(
        tmp_path: Path, fake: tuple[FakeMiniMax, str], minimax: FakeMiniMax) -> None:
    settings = paid_settings(tmp_path / "paid", workers=1, minimax_api_key=API_KEY,
                             minimax_base_url=fake[1], prices_usd={MODEL: 0.1575})
    ledger = ledger_of(settings)
    ledger.fund(PAYER, "1.00")
    with running_server(settings) as url:
        minimax.music.append(Reply(code=1008))
        before = ledger.balance_atomic(PAYER)
        challenge = generate(url, instrumental=True)
        assert challenge.status_code == 402
        paid = {"PAYMENT-SIGNATURE": payment_for(challenge)}
        assert_error(generate(url, headers=paid, instrumental=True), 503, "upstream_unavailable")
        assert ledger.balance_atomic(PAYER) == before

        challenge = generate(url, instrumental=True)
        response = generate(url, headers={"PAYMENT-SIGNATURE": payment_for(challenge)},
                            instrumental=True)
        assert_our_track(url, response, minimax.track)
        assert response.headers["X-Payment-Receipt"]
        assert before - ledger.balance_atomic(PAYER) == 157500


# -- the shared pieces, without a server ---------------------------------------------------------
def test_an_unreachable_upstream_is_retried_then_a_502() -> None:
    closed = httpx.Client(timeout=1)
    tries: list[float] = []

    def call() -> dict[str, Any]:
        return upstream.post_json(closed, "http://127.0.0.1:9/v1/music_generation", {}, {})

    with pytest.raises(upstream.UpstreamError) as caught:
        upstream.with_retries(call, sleep=tries.append)
    assert caught.value.status_code == 502 and caught.value.code == "upstream_unreachable"
    assert len(tries) == upstream.ATTEMPTS - 1


def test_the_duration_hint_keeps_the_prompt_within_the_limit() -> None:
    hinted = upstream.duration_hint("x" * 2000, 30, 2000)
    assert len(hinted) == 2000 and hinted.endswith("about 30 seconds.")
    assert upstream.duration_hint("calm piano.", 90, 2000) == \
        "calm piano. Length: about 90 seconds."
