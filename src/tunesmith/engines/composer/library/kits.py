"""Drum kits, loaded from ``data/kits.toml``: each synthesised kit as a map from General MIDI
percussion key to the drum it plays there.

The file names keys by their General MIDI names (:data:`score.GM_DRUMS`) and each drum's
parameters by name; a value of the wrong shape is refused here, naming the file and the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ..midi import GM_DRUMS
from . import DataError, data_dir_now, load_data

_FULL_DRUMS = ("kick", "snare", "clap", "hat_closed", "hat_open", "crash", "ride")


@dataclass(frozen=True)
class Drum:
    """One drum of a kit: a synthesis kind, its parameters, level (dB) and pan (-1..1)."""

    kind: str
    params: dict[str, float] = field(default_factory=dict)
    level_db: float = 0.0
    pan: float = 0.0


Kit = dict[int, Drum]  # GM percussion key -> the drum the kit plays there


def kits(data_dir: Path | None = None) -> dict[str, Kit]:
    """Every synthesised kit of ``data_dir`` (the library's folder by default), read once."""
    return _kits(data_dir or data_dir_now())


@cache
def _kits(data_dir: Path) -> dict[str, Kit]:
    table = load_data("kits", data_dir)
    where = data_dir / "kits.toml"
    keys = _Keys(GM_DRUMS, where)
    full = table.get("full_kit", {})
    shared = {keys.one(name, "percussion"): _drum(raw, where, f"percussion.{name}")
              for name, raw in table.get("percussion", {}).items()}
    out: dict[str, Kit] = {}
    for name, raw in table.get("kits", {}).items():
        key = f"kits.{name}"
        out[name] = (_own_kit(raw, keys, where, key) if "drums" in raw
                     else _full_kit(raw, full, shared, keys, where, key))
    return out


class _Keys:
    """GM percussion names to key numbers, with errors that name the file and the key."""

    def __init__(self, names: dict[str, int], where: Path):
        self.names, self.where = names, where

    def one(self, name: str, key: str) -> int:
        if name not in self.names:
            raise DataError(f"{self.where}: {key}: {name!r} is no General MIDI percussion name "
                            f"(score.GM_DRUMS: {', '.join(sorted(self.names))})")
        return self.names[name]

    def many(self, names: Any, key: str) -> list[int]:
        if not isinstance(names, list):
            raise DataError(f"{self.where}: {key} must be a list of percussion names")
        return [self.one(name, key) for name in names]


def _full_kit(raw: dict[str, Any], full: dict[str, Any], shared: Kit, keys: _Keys,
              where: Path, key: str) -> Kit:
    """A kit with the seven drums of ``full_kit.keys``, toms tuned from ``tom_hz``, and the
    shared percussion."""
    missing = [d for d in (*_FULL_DRUMS, "tom_hz", "tom_decay") if d not in raw]
    if missing:
        raise DataError(f"{where}: {key} needs {', '.join(missing)} (or its own `drums` list)")
    kit = dict(shared)
    for drum, names in full.get("keys", {}).items():
        played = _drum(raw[drum], where, f"{key}.{drum}")
        for number in keys.many(names, f"full_kit.keys.{drum}"):
            kit[number] = played
    for name, tom in full.get("toms", {}).items():
        kit[keys.one(name, "full_kit.toms")] = Drum(
            "tom", {"f": raw["tom_hz"] * tom["ratio"], "decay": raw["tom_decay"]},
            tom["level_db"], tom["pan"])
    return kit


def _own_kit(raw: dict[str, Any], keys: _Keys, where: Path, key: str) -> Kit:
    kit: Kit = {}
    for index, entry in enumerate(raw["drums"]):
        where_in = f"{key}.drums[{index}]"
        if not isinstance(entry, dict) or "keys" not in entry:
            raise DataError(f"{where}: {where_in} needs `keys`, the percussion names it plays")
        drum = _drum({k: v for k, v in entry.items() if k != "keys"}, where, where_in)
        for number in keys.many(entry["keys"], f"{where_in}.keys"):
            kit[number] = drum
    return kit


def _drum(raw: Any, where: Path, key: str) -> Drum:
    if not isinstance(raw, dict) or not isinstance(raw.get("kind"), str):
        raise DataError(f"{where}: {key} must be a table with a `kind` (kick, snare, ...)")
    params = {k: v for k, v in raw.items() if k not in ("kind", "level_db", "pan")}
    bad = [k for k, v in params.items() if isinstance(v, bool) or not isinstance(v, int | float)]
    if bad:
        raise DataError(f"{where}: {key}: {', '.join(bad)} must be numbers")
    return Drum(raw["kind"], params, raw.get("level_db", 0.0), raw.get("pan", 0.0))
