"""The neural engines on tiny random models of the real diffusers classes, in process.

Each model is built, saved and loaded back through the engine's own loading code; a track
comes out as our MP3 (44.1 kHz stereo, the exact length), with step progress, lyrics from our
lyricist where a vocal model got none, the same audio for the same seed, a cancel that stops
between steps, and a 400 or 503 that says what to change.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

pytest.importorskip("diffusers")

from tests.support.neural import tiny_model
from tunesmith.audio.codec import SAMPLE_RATE, read_audio
from tunesmith.config import LocalModel, Settings
from tunesmith.engines.base import (
    EngineInputError,
    GenerationCanceled,
    GenerationRequest,
)
from tunesmith.engines.neural import finish
from tunesmith.engines.neural.engine import ModelUnavailable, NeuralEngine
from tunesmith.engines.registry import load_engine, model_entries

PIPELINES = ("stable-audio-3", "ace-step-1.5", "minimax-music-3", "stable-audio-open")
INSTRUMENTAL_ONLY = ("stable-audio-3", "stable-audio-open")


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("neural-models")


def _settings(tmp: Path, models: dict[str, LocalModel]) -> Settings:
    return Settings(data_dir=tmp / "data", signing_secret="test-secret-0123456789",
                    local_models=models)


@pytest.fixture(scope="module")
def engines(models_dir: Path) -> dict[str, NeuralEngine]:
    """One loaded engine per pipeline, as a worker holds them."""
    models = {f"local/{p}": tiny_model(models_dir, p) for p in PIPELINES}
    settings = _settings(models_dir, models)
    entries = model_entries(settings)
    built: dict[str, NeuralEngine] = {}
    for pipeline in PIPELINES:
        engine = load_engine(entries[f"local/{pipeline}"], settings)
        assert isinstance(engine, NeuralEngine) and engine.load(), engine.unavailable_reason()
        built[pipeline] = engine
    return built


class Recorder:
    """A progress callback that records and can cancel after ``cancel_after`` reports."""

    def __init__(self, cancel_after: int | None = None):
        self.reports: list[tuple[float, str]] = []
        self.cancel_after = cancel_after

    def __call__(self, fraction: float, stage: str) -> None:
        self.reports.append((fraction, stage))
        denoising = sum(1 for _, s in self.reports if s == "denoising")
        if self.cancel_after is not None and denoising > self.cancel_after:
            raise GenerationCanceled("test")


def _request(pipeline: str, **fields: object) -> GenerationRequest:
    values: dict[str, object] = {"prompt": "warm lo-fi beat with soft keys",
                                 "model": f"local/{pipeline}", "duration_seconds": 5, "seed": 11}
    values.update(fields)
    return GenerationRequest(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_a_track_is_our_mp3_of_the_exact_length_with_step_progress(
        engines: dict[str, NeuralEngine], pipeline: str, tmp_path: Path) -> None:
    engine, progress = engines[pipeline], Recorder()
    instrumental = pipeline in INSTRUMENTAL_ONLY
    track = engine.generate(_request(pipeline, instrumental=instrumental), progress, tmp_path)
    audio, rate = read_audio(track.path)
    assert rate == SAMPLE_RATE and audio.shape == (2, 5 * SAMPLE_RATE)
    assert track.duration_seconds == pytest.approx(5.0, abs=1e-3)
    assert np.any(audio) and np.all(np.isfinite(audio))
    fractions = [f for f, _ in progress.reports]
    assert fractions == sorted(fractions) and fractions[-1] >= 0.88
    assert any(stage == "denoising" for _, stage in progress.reports)
    assert engine.timing.pipeline > 0 and engine.timing.total >= engine.timing.pipeline


@pytest.mark.parametrize("pipeline", ["ace-step-1.5", "minimax-music-3"])
def test_a_vocal_model_without_lyrics_sings_our_lyricists_words(
        engines: dict[str, NeuralEngine], pipeline: str, tmp_path: Path) -> None:
    track = engines[pipeline].generate(_request(pipeline), Recorder(), tmp_path)
    assert track.lyrics and track.lyrics.startswith("[Verse]")  # sized to 5 s: one verse
    given = "[Verse]\nHello neon city\n[Chorus]\nWe run all night"
    sung = engines[pipeline].generate(_request(pipeline, lyrics=given), Recorder(), tmp_path)
    assert sung.lyrics == given


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_the_same_seed_makes_the_same_track_and_another_seed_another(
        engines: dict[str, NeuralEngine], pipeline: str, tmp_path: Path) -> None:
    instrumental = pipeline in INSTRUMENTAL_ONLY
    made = []
    for n, seed in enumerate((5, 5, 6)):
        request = _request(pipeline, seed=seed, instrumental=instrumental)
        made.append(engines[pipeline].generate(request, Recorder(), tmp_path / str(n))
                    .path.read_bytes())
    assert made[0] == made[1]
    assert made[0] != made[2]


def test_cancel_stops_the_pipeline_between_steps(models_dir: Path, tmp_path: Path) -> None:
    """The job's cancel (raised by its progress callback) ends the run at the next step."""
    model = tiny_model(models_dir, "ace-step-1.5", steps=400)
    engine = NeuralEngine(_settings(tmp_path, {"local/slow": model}), "local/slow")
    steps: list[float] = []
    progress = Recorder(cancel_after=1)
    with pytest.raises(GenerationCanceled):
        engine.generate(_request("ace-step-1.5", model="local/slow"),
                        lambda f, s: (steps.append(f), progress(f, s))[1], tmp_path)
    assert len(steps) < 20  # of 400 steps: it stopped, it did not run to the end
    assert not (tmp_path / "track.mp3").exists()


def test_what_a_model_cannot_do_is_a_400_that_says_what_to_send(
        engines: dict[str, NeuralEngine], tmp_path: Path) -> None:
    with pytest.raises(EngineInputError, match="always sings"):
        engines["minimax-music-3"].generate(_request("minimax-music-3", instrumental=True),
                                            Recorder(), tmp_path)
    with pytest.raises(EngineInputError, match="cannot sing lyrics"):
        engines["stable-audio-3"].generate(_request("stable-audio-3", lyrics="[Verse]\nla"),
                                           Recorder(), tmp_path)


def test_a_missing_folder_or_gpu_is_a_503_naming_what_is_missing(tmp_path: Path) -> None:
    models = {
        "local/gone": LocalModel(pipeline="ace-step-1.5", path=tmp_path / "nowhere",
                                 device="cpu", dtype="float32"),
        "local/empty": LocalModel(pipeline="stable-audio-3", path=tmp_path, device="cpu"),
        "local/gpu": LocalModel(pipeline="ace-step-1.5", path=tmp_path, device="cuda:7"),
    }
    (tmp_path / "model_index.json").write_text("{}")
    settings = _settings(tmp_path, models)
    entries = model_entries(settings)
    assert str(tmp_path / "nowhere") in (entries["local/gone"].unavailable_reason or "")
    assert entries["local/empty"].available  # a saved pipeline's index is there
    assert "cuda:7" in (entries["local/gpu"].unavailable_reason or "")
    engine = NeuralEngine(settings, "local/gone")
    with pytest.raises(ModelUnavailable, match="nowhere") as raised:
        engine.generate(_request("ace-step-1.5", model="local/gone"), Recorder(), tmp_path)
    assert raised.value.status_code == 503


def test_a_folder_that_does_not_load_is_a_503_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "model_index.json").write_text('{"_class_name": "AceStepPipeline"}')
    model = LocalModel(pipeline="ace-step-1.5", path=tmp_path, device="cpu", dtype="float32")
    engine = NeuralEngine(_settings(tmp_path, {"local/broken": model}), "local/broken")
    assert engine.load() is False
    assert "could not be loaded" in (engine.unavailable_reason() or "")
    with pytest.raises(ModelUnavailable, match=str(tmp_path)):
        engine.generate(_request("ace-step-1.5", model="local/broken"), Recorder(), tmp_path)


def test_listing_local_models_does_not_import_torch(tmp_path: Path) -> None:
    code = (
        "import sys, json; from tunesmith.config import Settings; "
        "from tunesmith.engines.registry import model_entries; "
        f"s = Settings(data_dir={str(tmp_path)!r}, local_models={{'local/a': "
        f"{{'pipeline': 'ace-step-1.5', 'path': {str(tmp_path)!r}, 'device': 'cpu'}}}}); "
        "e = model_entries(s)['local/a']; "
        "print(json.dumps([e.capabilities.lyrics, 'torch' in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.strip() == "[true, false]"


def test_local_models_are_checked_when_the_settings_load(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="owner/name"):
        Settings(data_dir=tmp_path, local_models={"no-slash": {
            "pipeline": "ace-step-1.5", "path": str(tmp_path)}})
    with pytest.raises(ValidationError, match="pipeline"):
        Settings(data_dir=tmp_path, local_models={"local/x": {
            "pipeline": "musicgen", "path": str(tmp_path)}})


def test_exact_length_cuts_with_a_fade_pads_rounding_and_refuses_a_short_track() -> None:
    long = np.ones((2, 3 * SAMPLE_RATE), dtype=np.float32)
    cut = finish.exact_length(long, 2.0)
    assert cut.shape == (2, 2 * SAMPLE_RATE) and cut[0, 0] == 1.0 and abs(cut[0, -1]) < 1e-3
    nearly = finish.exact_length(long[:, : 2 * SAMPLE_RATE - 100], 2.0)
    assert nearly.shape == (2, 2 * SAMPLE_RATE)
    with pytest.raises(finish.TrackTooShort, match="short of the 4 s"):
        finish.exact_length(long, 4.0)
    stereo = finish.to_stereo_44k(np.zeros((1, 48000), dtype=np.float32), 48000)
    assert stereo.shape == (2, SAMPLE_RATE)


def test_a_stopping_worker_releases_the_model_it_holds(models_dir: Path, tmp_path: Path) -> None:
    from tunesmith.jobs.store import JobStore
    from tunesmith.jobs.worker import WorkerContext
    from tunesmith.storage import LocalStore

    settings = _settings(tmp_path, {"local/held": tiny_model(models_dir, "stable-audio-3")})
    settings.data_dir.mkdir(parents=True)
    ctx = WorkerContext(name="w", settings=settings,
                        jobs=JobStore(settings.resolved_database_url),
                        tracks=LocalStore(settings.tracks_dir, b"k" * 32), holds=("local/held",))
    ctx.load_held()
    engine = ctx.engines["local/held"]
    assert isinstance(engine, NeuralEngine) and engine.pipeline is not None
    ctx.release()
    assert engine.pipeline is None and ctx.engines == {}


def test_stable_audio_3_takes_the_operators_negative_prompt(models_dir: Path,
                                                            tmp_path: Path) -> None:
    """With guidance above 1 the negative prompt steers the run (same seed, other audio)."""
    made = {}
    for negative in (None, "harsh noise, distortion"):
        model = tiny_model(models_dir, "stable-audio-3", guidance_scale=3.0,
                           negative_prompt=negative)
        engine = NeuralEngine(_settings(tmp_path, {"local/sa3": model}), "local/sa3")
        request = _request("stable-audio-3", model="local/sa3", instrumental=True)
        made[negative] = engine.generate(request, Recorder(), tmp_path / str(negative)) \
            .path.read_bytes()
    assert made[None] != made["harsh noise, distortion"]
