"""The composer's library: instruments and kits are data, and adding one is one TOML change.

Each test copies the real data folder, changes one file in the copy, points the library at the
copy and renders with what the file now says.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tunesmith.engines.composer import library
from tunesmith.engines.composer.library import DataError
from tunesmith.engines.composer.library.instruments import GmProgram, Kit, SynthPatch, catalogue
from tunesmith.engines.composer.library.kits import kits
from tunesmith.engines.composer.midi import GM_DRUMS
from tunesmith.engines.composer.score import Note, Part, Production, Score, Section
from tunesmith.engines.composer.sound.render import render_part

GLASS_LEAD = """
[instruments.glass_lead]
kind = "synth"
mix = { highpass_hz = 200.0, presence_db = 2.0 }
range = [60, 96]
[instruments.glass_lead.patch]
wave = "triangle"
voices = 2
detune_cents = 9
stereo_spread = 0.5
cutoff_hz = 5000
attack = 0.01
release = 0.2
"""

TIN_KIT = """
[instruments.kit_tin]
kind = "kit"
kit = "tin"
mix = { highpass_hz = 40.0 }
"""

TIN_DRUMS = """
# A two-drum toy kit: a tight kick and a hat on every closed or pedal hat key.
[kits.tin]
[[kits.tin.drums]]
keys = ["kick", "bass_drum"]
kind = "kick"
f_start = 180
f_end = 60
pitch_tau = 0.02
decay = 0.15
click = 0.3
drive = 0.1
level_db = -1
[[kits.tin.drums]]
keys = ["hat_closed", "hat_pedal"]
kind = "metal"
decay = 0.04
hp = 9000
noise = 0.5
level_db = -9
pan = -0.2
"""


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the library's data folder, which the whole library reads from now on."""
    folder = tmp_path / "data"
    shutil.copytree(library.DATA_DIR, folder)
    monkeypatch.setattr(library, "DATA_DIR", folder)
    return folder


def _append(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.write_text(path.read_text() + text)


def _score(part: Part, duration: float = 4.0) -> Score:
    return Score("test", "test", 120.0, "C", "major", (4, 4), duration,
                 [Section("verse", 0.0, duration, 2, 0.5)], [part], Production())


def _loudness(pr_sounds: dict[object, np.ndarray]) -> float:
    return max(float(np.abs(sound).max()) for sound in pr_sounds.values())


def test_a_new_instrument_is_one_table_in_instruments_toml(data_dir: Path) -> None:
    _append(data_dir, "instruments.toml", GLASS_LEAD)
    found = catalogue().instrument("glass_lead")
    assert isinstance(found.voice, SynthPatch) and found.voice.wave == "triangle"
    assert found.mix.highpass_hz == 200.0 and found.mix.presence_db == 2.0
    assert catalogue().kinds["glass_lead"] == "synth"
    assert catalogue().ranges["glass_lead"] == (60, 96)

    notes = [Note(i * 0.5, 0.4, 72 + (i % 5), 100) for i in range(8)]
    part = Part("lead", "glass_lead", "melody", notes)
    pr = render_part(part, _score(part))
    assert len(pr.events) == 8 and pr.power > 0
    assert _loudness(pr.sounds) > 0.01
    # Stereo spread from the file: the two channels differ.
    assert any(not np.allclose(s[0], s[1]) for s in pr.sounds.values())


def test_a_new_drum_kit_is_one_table_in_kits_toml(data_dir: Path) -> None:
    _append(data_dir, "kits.toml", TIN_DRUMS)
    _append(data_dir, "instruments.toml", TIN_KIT)
    tin = kits()["tin"]
    assert set(tin) == {GM_DRUMS[k] for k in ("kick", "bass_drum", "hat_closed", "hat_pedal")}
    assert tin[GM_DRUMS["hat_closed"]].pan == -0.2
    assert catalogue().instrument("kit_tin").voice == Kit("synth", "tin")

    notes = [Note(i * 0.5, 0.1, GM_DRUMS["kick" if i % 2 == 0 else "hat_closed"], 110)
             for i in range(8)]
    notes.append(Note(3.9, 0.1, GM_DRUMS["snare"], 110))  # not in the kit: silent
    part = Part("drums", "kit_tin", "drums", notes)
    pr = render_part(part, _score(part))
    assert pr.power > 0 and _loudness(pr.sounds) > 0.01
    assert {key[2] for key in pr.sounds} >= {GM_DRUMS["kick"], GM_DRUMS["hat_closed"]}  # type: ignore[index]
    assert len(pr.kicks) == 4  # the file's kick keys drive the sidechain


def test_the_shipped_catalogue_covers_every_kind() -> None:
    entries = catalogue().instruments
    assert isinstance(entries["piano"].voice, GmProgram)
    assert isinstance(entries["bass_808"].voice, SynthPatch)
    for name, entry in entries.items():
        if isinstance(entry.voice, Kit) and entry.voice.engine == "synth":
            assert entry.voice.name in kits(), name


@pytest.mark.parametrize(("file", "text", "says"), [
    ("instruments.toml", '[instruments.bad]\nkind = "harp"\n', 'instruments.bad.kind must be'),
    ("instruments.toml", '[instruments.bad]\nkind = "synth"\n', "instruments.bad.patch is missing"),
    ("instruments.toml", '[instruments.bad]\nkind = "synth"\n[instruments.bad.patch]\n'
     'wave = "saw"\nwobble = 3\n', "instruments.bad.patch has no field wobble"),
    ("instruments.toml", '[instruments.bad]\nkind = "gm"\nprogram = 3\nmix = "loud"\n',
     "instruments.bad.mix names no preset"),
    ("instruments.toml", '[instruments.bad]\nkind = "gm"\nprogram = 3\nrange = [90, 20]\n',
     "instruments.bad.range must be"),
    ("kits.toml", '[kits.bad]\n[[kits.bad.drums]]\nkeys = ["cowbel"]\nkind = "bell"\n',
     "kits.bad.drums[0].keys: 'cowbel' is no General MIDI percussion name"),
    ("kits.toml", '[kits.bad]\ntom_hz = 100.0\n', "kits.bad needs kick, snare"),
])
def test_bad_data_names_the_file_and_the_key(data_dir: Path, file: str, text: str,
                                             says: str) -> None:
    _append(data_dir, file, "\n" + text)
    with pytest.raises(DataError) as caught:
        kits() if file == "kits.toml" else catalogue()
    assert str(data_dir / file) in str(caught.value) and says in str(caught.value)


def test_a_missing_data_file_is_named(data_dir: Path) -> None:
    (data_dir / "kits.toml").unlink()
    with pytest.raises(DataError, match=r"kits\.toml: no such data file"):
        kits()
