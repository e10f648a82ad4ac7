"""The composer's knowledge, loaded: ``data/*.toml`` read once per process.

Both wings read their tables through here (the writing wing its styles, forms, grooves and
vocabulary; the sound wing its vocal mix), so a table has one loader and one place on disk.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).parents[1] / "data"


class DataError(ValueError):
    """A data file is missing, unreadable or holds a value of the wrong shape."""


def data_dir_now() -> Path:
    """The folder the loaders read when given none: :data:`DATA_DIR`, looked up at call time
    so a test can point the whole library at a folder of its own."""
    return DATA_DIR


def load_data(name: str, data_dir: Path | None = None) -> dict[str, Any]:
    """One TOML file, ``<data_dir>/<name>.toml``, parsed once per process and folder."""
    return _load(name, data_dir or data_dir_now())


@cache
def _load(name: str, data_dir: Path) -> dict[str, Any]:
    path = data_dir / f"{name}.toml"
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise DataError(f"{path}: no such data file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{path}: not valid TOML ({exc})") from exc


def vocal_data() -> dict[str, Any]:
    """The singing tables (``data/vocals.toml``): voices, line lengths, the vocal mix."""
    return load_data("vocals")
