"""MiniMax Music 3 on an operator's SGLang-Omni server, through our API, against a fake
speech route on loopback: the request it gets, and the track our client gets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_settings
from tests.support.fake_upstreams import FakeSGLangOmni, SpeechReply, running
from tests.support.server import running_server
from tunesmith.audio.codec import SAMPLE_RATE, read_audio

MODEL = "sglang/minimax-music-3"
SONG = "[Verse]\nStreetlights hum a lullaby\n[Chorus]\nHold on, hold on"


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeSGLangOmni, str]]:
    omni = FakeSGLangOmni()
    with running(omni.app()) as url:
        yield omni, url


@pytest.fixture
def omni(fake: tuple[FakeSGLangOmni, str]) -> Iterator[FakeSGLangOmni]:
    fake[0].reset()
    yield fake[0]
    fake[0].reset()


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory,
        fake: tuple[FakeSGLangOmni, str]) -> Iterator[str]:
    settings = make_settings(tmp_path_factory.mktemp("sglang"), workers=1,
                             sglang_omni_url=fake[1], sglang_omni_api_key="omni-token",
                             upstream_timeout_seconds=5.0, fallback_model="")
    with running_server(settings) as served:
        yield served


def generate(url: str, **body: Any) -> httpx.Response:
    body = {"model": MODEL, "prompt": "indie folk, warm acoustic guitar", **body}
    return httpx.post(f"{url}/v1/audio/generations", json=body, timeout=60)


def test_lyrics_and_caption_go_as_input_and_instructions_and_the_track_is_exact(
        url: str, omni: FakeSGLangOmni, tmp_path: Path) -> None:
    response = generate(url, lyrics=SONG, duration_seconds=7, seed=123)
    assert response.status_code == 200, response.text
    sent = omni.bodies[-1]
    assert sent["input"] == SONG and sent["instructions"].startswith("indie folk")
    assert sent["seed"] == 123 and sent["model"] == "MiniMax-Music-3"
    assert omni.authorizations[-1] == "Bearer omni-token"
    assert sent["max_new_tokens"] == (7 + 1) * 25  # 25 frames/s, a second to spare
    item = response.json()["data"][0]
    assert item["duration_seconds"] == 7 and item["lyrics"] == SONG
    path = tmp_path / "t.mp3"
    path.write_bytes(httpx.get(item["url"]).content)
    audio, rate = read_audio(path)
    assert rate == SAMPLE_RATE and audio.shape == (2, 7 * SAMPLE_RATE)


def test_without_lyrics_our_lyricist_writes_them(url: str, omni: FakeSGLangOmni) -> None:
    response = generate(url, duration_seconds=30)
    assert response.status_code == 200, response.text
    sections = [line for line in omni.bodies[-1]["input"].splitlines() if line.startswith("[")]
    assert sections == ["[Verse]", "[Chorus]", "[Verse]"]  # sized to 30 s
    assert response.json()["data"][0]["lyrics"] == omni.bodies[-1]["input"]


def test_instrumental_is_a_400_before_anything_is_sent(url: str, omni: FakeSGLangOmni) -> None:
    response = generate(url, instrumental=True)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "instrumental"
    assert omni.bodies == []


def test_a_track_that_ends_short_is_refused_not_padded(url: str, omni: FakeSGLangOmni) -> None:
    omni.replies.append(SpeechReply(seconds=3.0))
    response = generate(url, lyrics=SONG, duration_seconds=10)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "track_too_short"
    assert "short of the 10 s" in response.json()["error"]["message"]


@pytest.mark.parametrize(("reply", "status", "code"), [
    (SpeechReply(http_status=401), 503, "upstream_unavailable"),
    (SpeechReply(body=b"not a wav at all"), 502, "upstream_bad_audio"),
    (SpeechReply(delay=8.0), 504, "upstream_timeout"),
])
def test_upstream_failures_map_to_our_errors(url: str, omni: FakeSGLangOmni,
                                             reply: SpeechReply, status: int,
                                             code: str) -> None:
    omni.replies.append(reply)
    response = generate(url, lyrics=SONG, duration_seconds=5)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_a_server_error_is_retried(url: str, omni: FakeSGLangOmni) -> None:
    omni.replies.append(SpeechReply(http_status=503))
    response = generate(url, lyrics=SONG, duration_seconds=5)
    assert response.status_code == 200, response.text
    assert len(omni.bodies) == 2


def test_listed_only_when_configured(tmp_path: Path) -> None:
    from tunesmith.config import Settings
    from tunesmith.engines.registry import model_entries

    plain = Settings(data_dir=tmp_path)
    assert MODEL not in model_entries(plain)
    entry = model_entries(Settings(data_dir=tmp_path, sglang_omni_url="http://127.0.0.1:9"))
    assert entry[MODEL].capabilities.lyrics and not entry[MODEL].capabilities.instrumental
