"""Score → stems → mastered stereo: the entry point of the sound half of the composer.

Each part becomes a :class:`PartRender`: the distinct sounds it needs (one per cache key:
voice, pitch, quantised length, velocity bucket), already shaped by the part's tone filter,
and the sample positions where they play. :mod:`mix` places them straight onto the buses, so
a part never exists as a full-length array unless someone asks for stems.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

import numpy as np

from tunesmith.engines.composer.library.instruments import (
    GmProgram,
    Kit,
    SynthPatch,
    instrument,
)
from tunesmith.engines.composer.score import GM_DRUMS, SAMPLE_RATE, Note, Part, Score
from tunesmith.engines.composer.sound import kits as drumkit
from tunesmith.engines.composer.sound import soundfont, synth
from tunesmith.engines.composer.sound.filters import shape_tone
from tunesmith.engines.composer.sound.master import master
from tunesmith.engines.composer.sound.mix import mix_parts
from tunesmith.engines.composer.sound.stems import PartRender
from tunesmith.engines.composer.sound.vocal_stems import render_vocal

SR = SAMPLE_RATE
Progress = Callable[[float, str], None]
_LENGTH_STEP = 0.03  # lengths are cached in 3 % steps: inaudible, and notes repeat
_VELOCITY_STEP = 16
_HAT_CHOKERS = frozenset({GM_DRUMS["hat_closed"], GM_DRUMS["hat_pedal"]})  # they cut an open hat
_OPEN_HAT = GM_DRUMS["hat_open"]
_KICK = GM_DRUMS["kick"]
_KICKS = frozenset({GM_DRUMS["bass_drum"], _KICK})  # they trigger sidechain ducking
_GM_DRUM_HOLD = 0.6  # seconds a SoundFont drum key is held (one-shots mostly ignore it)
_KIT_REFERENCE_VELOCITY = 120
_KIT_GROOVE = 1.1  # a full groove measured ~1.1x its kick alone (kick, snare, clap, hats)
_KIT_MEASURED = 0.5  # a kit with a weak kick is levelled by its groove, 3 dB down
_RENDER_THREADS = 2  # the two cores a worker has


def quantise_length(seconds: float) -> float:
    """Round a note length onto a 3 % logarithmic grid (cache key)."""
    seconds = max(seconds, 0.01)
    step = round(math.log(seconds / 0.01) / math.log1p(_LENGTH_STEP))
    return 0.01 * (1.0 + _LENGTH_STEP) ** step


def velocity_bucket(velocity: int) -> int:
    """The centre of a velocity's 16-wide bucket (cache key)."""
    return int(min(127, max(1, (int(velocity) // _VELOCITY_STEP) * _VELOCITY_STEP + 8)))


def playable_notes(part: Part, duration: float, mono: bool) -> list[Note]:
    """Notes inside the track, sorted; a mono voice's note ends where the next begins."""
    notes = sorted(
        (n for n in part.notes if 0 <= n.start < duration and n.duration > 0),
        key=lambda n: (n.start, n.pitch),
    )
    if not mono:
        return notes
    cut: list[Note] = []
    for i, note in enumerate(notes):
        nxt = next((m.start for m in notes[i + 1 :] if m.start > note.start), None)
        length = note.duration if nxt is None else min(note.duration, nxt - note.start)
        if length > 0.005:
            cut.append(Note(note.start, length, note.pitch, note.velocity))
    return cut


# ---- rendering each kind of voice --------------------------------------------------------


def _synth_events(
    pr: PartRender, patch: SynthPatch, notes: list[Note], name: str, bpm: float, seed: int
) -> None:
    previous: Note | None = None
    lengths: dict[tuple[int, int, int | None], set[float]] = {}  # tone → the lengths it plays
    for note in notes:
        legato = previous is not None and note.start - (previous.start + previous.duration) < 0.01
        glide = previous.pitch if legato and patch.slide_time and previous else None
        length, velocity = quantise_length(note.duration), velocity_bucket(note.velocity)
        lengths.setdefault((note.pitch, velocity, glide), set()).add(length)
        pr.events.append((round(note.start * SR), (name, note.pitch, length, velocity, glide), 0))
        previous = note
    # One tone per pitch, velocity and glide, as long as its longest note; each length is
    # that tone under its own envelope (the same samples as rendering each on its own).
    for (pitch, velocity, glide), held in lengths.items():
        n = max(synth.note_length(patch, length)[1] for length in held)
        tone = synth.note_tone(patch, pitch, n, velocity, bpm=bpm, glide_from=glide, seed=seed)
        for length in held:
            pr.sounds[(name, pitch, length, velocity, glide)] = synth.shape_note(
                patch, tone, length, velocity)


def _gm_events(pr: PartRender, voice: GmProgram, notes: list[Note], font: Path) -> None:
    for note in notes:
        key = (
            voice.bank,
            voice.program,
            note.pitch,
            quantise_length(note.duration),
            velocity_bucket(note.velocity),
        )
        if key not in pr.sounds:
            pr.sounds[key] = soundfont.render_note(
                font, voice.bank, voice.program, note.pitch, key[3], key[4]
            )
        pr.events.append((round(note.start * SR), key, 0))


def _open_hat_limit(notes: list[Note], index: int) -> int:
    """Samples an open hat may ring before the next closed hat chokes it (0 = no limit)."""
    start = notes[index].start
    for later in notes[index + 1 :]:
        if later.pitch in _HAT_CHOKERS and later.start > start:
            return max(int((later.start - start) * SR), 64)
    return 0


def _kit_events(pr: PartRender, kit: Kit, notes: list[Note], font: Path, seed: int) -> None:
    counts: dict[int, int] = {}
    for i, note in enumerate(notes):
        vel = velocity_bucket(note.velocity)
        if kit.engine == "synth":
            variant = counts.get(note.pitch, 0) % drumkit.VARIANTS
            counts[note.pitch] = counts.get(note.pitch, 0) + 1
            key: Hashable = ("synth", kit.name, note.pitch, vel, variant)
            if key not in pr.sounds:
                pr.sounds[key] = drumkit.render_hit(kit.name, note.pitch, vel, variant, seed)
        else:
            key = ("gm", kit.preset, note.pitch, vel)
            if key not in pr.sounds:
                pr.sounds[key] = soundfont.render_note(
                    font, 0, kit.preset, note.pitch, _GM_DRUM_HOLD, vel, drums=True
                )
        limit = _open_hat_limit(notes, i) if note.pitch == _OPEN_HAT else 0
        pr.events.append((round(note.start * SR), key, limit))
        if note.pitch in _KICKS:
            pr.kicks.append(round(note.start * SR))


def _active_power(pr: PartRender) -> float:
    """Mean square of the part over the union of the spans where its sounds ring."""
    energy = {
        k: float(np.mean(np.square(v, dtype=np.float64), axis=0).sum())
        for k, v in pr.sounds.items()
    }
    total, covered, reach = 0.0, 0, -1
    for start, key, limit in sorted(pr.events, key=lambda e: e[0]):
        length = pr.sounds[key].shape[1] if not limit else min(limit, pr.sounds[key].shape[1])
        total += energy[key] * length / pr.sounds[key].shape[1]
        end = start + length
        covered += max(0, end - max(start, reach))
        reach = max(reach, end)
    return total / covered if covered else 0.0


def render_part(part: Part, score: Score, seed: int = 0, font: Path | None = None) -> PartRender:
    """Render the distinct sounds of one part and list where they play."""
    return finish_part(start_part(part, score, seed, font), score)


def start_part(part: Part, score: Score, seed: int = 0, font: Path | None = None) -> PartRender:
    """A part's events and its distinct sounds as the voice makes them, before tone shaping.

    This is all the SoundFont work a part has (a kit's reference kick included), so the
    rest (:func:`finish_part`) can run on any thread.
    """
    entry = instrument(part.instrument)
    pr = PartRender(part, entry.mix)
    voice = entry.voice
    font = font or soundfont.soundfont_path()
    if isinstance(voice, SynthPatch):
        notes = playable_notes(part, score.duration, voice.mono)
        _synth_events(pr, voice, notes, part.instrument, score.bpm, seed)
    elif isinstance(voice, Kit):
        _kit_events(pr, voice, playable_notes(part, score.duration, False), font, seed)
        # Kits are levelled by their kick, not by what this part plays: a hats-only or
        # percussion part then sits under the kick as it would on the real kit.
        pr.reference = _reference_kick(voice, font, seed)
    else:
        _gm_events(pr, voice, playable_notes(part, score.duration, False), font)
    return pr


def finish_part(pr: PartRender, score: Score) -> PartRender:
    """Shape a started part's sounds with its tone chain and measure its level."""
    for key, audio in pr.sounds.items():
        pr.sounds[key] = shape_tone(audio, pr.mix, score.production, pr.part.role)
    pr.power = _active_power(pr)
    if pr.reference is not None:
        # The kick struck once per half second, a steady four-to-the-floor: its mean square.
        kick = shape_tone(pr.reference, pr.mix, score.production, "drums")
        reference = float(np.square(kick, dtype=np.float64).mean(axis=0).sum()) / (0.5 * SR)
        pr.power = max(_KIT_GROOVE * reference, _KIT_MEASURED * pr.power)
        pr.reference = None
    return pr


def _reference_kick(kit: Kit, font: Path, seed: int) -> np.ndarray:
    """One stroke of the kit's kick at a firm velocity (its level sets the kit's)."""
    if kit.engine == "synth":
        return drumkit.render_hit(kit.name, _KICK, _KIT_REFERENCE_VELOCITY, 0, seed)
    return soundfont.render_note(
        font, 0, kit.preset, _KICK, _GM_DRUM_HOLD, _KIT_REFERENCE_VELOCITY, drums=True
    )


def render_parts(score: Score, seed: int = 0, font: Path | None = None) -> list[PartRender]:
    """Every part of the score with notes, rendered (vocal parts are sung), in score order."""
    return list(rendered_in_order(score, seed, font))


def rendered_in_order(score: Score, seed: int = 0,
                      font: Path | None = None) -> Iterator[PartRender]:
    """Each part of the score with notes, rendered, in score order as soon as it is ready.

    Parts render on two threads: numpy, scipy's filters, pedalboard and WORLD release the
    GIL for most of a note's cost. Every part is seeded on its own, so the audio does not
    depend on which thread renders it. The voice starts first: it is the longest job. The
    caller can mix a part (and drop its sounds) while later ones render, so a song never
    holds every part's sounds at once.
    """
    def one(part: Part) -> PartRender:
        if part.role == "vocal":
            return render_vocal(part, score, seed)
        return finish_part(start_part(part, score, seed, font), score)

    parts = score.playing
    ready: list[Future[PartRender]] = [Future() for _ in parts]
    slot = {id(p): future for p, future in zip(parts, ready, strict=True)}

    def fail_from(group: list[tuple[Part, Future[PartRender]]], index: int,
                  exc: BaseException) -> None:
        """Hand ``exc`` to whoever waits for this part or a later one of its group."""
        for _, later in group[index:]:
            later.set_exception(exc)

    def in_turn(group: list[tuple[Part, Future[PartRender]]]) -> None:
        for index, (part, future) in enumerate(group):
            try:
                future.set_result(one(part))
            except BaseException as exc:
                fail_from(group, index, exc)
                return

    def finish_into(pr: PartRender, future: Future[PartRender]) -> None:
        try:
            future.set_result(finish_part(pr, score))
        except BaseException as exc:
            future.set_exception(exc)

    def fonted_in_turn(group: list[tuple[Part, Future[PartRender]]]) -> None:
        """The SoundFont work in score order; each part is finished by ``finisher``.

        At most one started part waits for the finisher: memory holds two parts' raw sounds.
        """
        finishing: list[Future[None]] = []
        for index, (part, future) in enumerate(group):
            if len(finishing) >= 2:
                wait([finishing.pop(0)])
            try:
                pr = start_part(part, score, seed, font)
            except BaseException as exc:
                fail_from(group, index, exc)
                return
            finishing.append(finisher.submit(finish_into, pr, future))

    # SoundFont parts render in score order on one thread: a note's sound depends slightly
    # on the note the synthesiser played before it, so interleaving them would change it.
    # The synthesiser holds the GIL, so their tone shaping (which does not) runs beside it.
    fonted = [p for p in parts if p.role != "vocal" and _uses_soundfont(p)]
    others = sorted((p for p in parts if all(p is not f for f in fonted)),
                    key=lambda p: p.role != "vocal")
    pool = ThreadPoolExecutor(_RENDER_THREADS, thread_name_prefix="render")
    finisher = ThreadPoolExecutor(1, thread_name_prefix="finish")
    try:
        for group in [g for g in [others[:1], fonted, *([p] for p in others[1:])] if g]:
            work = fonted_in_turn if group is fonted else in_turn
            pool.submit(work, [(part, slot[id(part)]) for part in group])
        for future in ready:
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        finisher.shutdown(wait=True, cancel_futures=True)


def _uses_soundfont(part: Part) -> bool:
    voice = instrument(part.instrument).voice
    return isinstance(voice, GmProgram) or (isinstance(voice, Kit) and voice.engine != "synth")


def render_stems(score: Score, seed: int = 0) -> dict[str, np.ndarray]:
    """Each part on its own, levelled but unmixed: name → float32 (2, samples)."""
    n = round(score.duration * SR)
    stems: dict[str, np.ndarray] = {}
    for pr in render_parts(score, seed):
        stem = np.zeros((2, n), dtype=np.float32)
        gain = np.float32(pr.level_gain())
        for start, key, limit in pr.events:
            sound = pr.sounds[key]
            end = min(n, start + (limit or sound.shape[1]))
            stem[:, start:end] += sound[:, : end - start] * gain
        stems[pr.part.name] = stem
    return stems


def render_score(score: Score, seed: int = 1234, progress: Progress | None = None) -> np.ndarray:
    """Render, mix and master a score: float32 (2, round(duration * 44100)).

    ``progress(fraction, stage)`` is called between stages; an exception it raises cancels.
    """
    report = progress or (lambda fraction, stage: None)
    report(0.0, "render")
    count = max(len(score.playing), 1)

    def rendered() -> Iterator[PartRender]:
        for index, part in enumerate(rendered_in_order(score, seed)):
            yield part
            report(0.6 * (index + 1) / count, "render")
        report(0.6, "mix")  # every part placed: sends, cues and colour remain

    mixed = mix_parts(rendered(), score, seed)  # each part is mixed while the next renders
    report(0.75, "master")
    audio = master(mixed, score.production)
    report(1.0, "master")
    return audio


def soundfont_path() -> Path:
    """The SoundFont the GM voices and acoustic kits are played from."""
    return soundfont.soundfont_path()
