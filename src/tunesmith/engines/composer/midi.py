"""General MIDI facts both wings and the library share: the percussion key of each drum name.

Drum parts are written in these keys whatever kit plays them; ``data/kits.toml`` names its keys
by these names.
"""

from __future__ import annotations

GM_DRUMS: dict[str, int] = {
    "bass_drum": 35, "kick": 36, "side_stick": 37, "snare": 38, "clap": 39, "snare_rim": 40,
    "tom_low": 41, "hat_closed": 42, "tom_floor": 43, "hat_pedal": 44, "tom_mid": 45,
    "hat_open": 46, "tom_low_mid": 47, "tom_high": 48, "crash": 49, "tom_top": 50, "ride": 51,
    "china": 52, "ride_bell": 53, "tambourine": 54, "splash": 55, "cowbell": 56, "crash_2": 57,
    "ride_2": 59, "bongo_high": 60, "bongo_low": 61, "conga_mute": 62, "conga_high": 63,
    "conga_low": 64, "timbale_high": 65, "timbale_low": 66, "cabasa": 69, "shaker": 70,
    "guiro": 73, "claves": 75,
}
