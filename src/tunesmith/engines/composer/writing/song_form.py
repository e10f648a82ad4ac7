"""Song form from lyrics: tagged sections become the sections of the piece, in their order.

A sung line takes ``bars_per_line`` bars (the count nearest four seconds), a blank line rests
a bar, an instrumental tag takes its default length; all of it from ``data/vocals.toml``. The
form is then fitted to the bars the duration allows:

* too long: instrumental sections shrink first, then lines are sung in order while they fit
  and the rest is left out (:attr:`SongForm.truncated` says so);
* too short: an added intro and outro grow, then instrumental sections fill the gaps between
  sung sections (latest first) and follow the last one.

When the composer writes the lyrics itself it writes them *for* the style's own form
(:func:`lines_for_form`, :func:`written_form`), so nothing needs fitting.

Example::

    >>> from tunesmith.engines.composer.writing.lyrics import parse_lyrics
    >>> form = fit_lyrics(parse_lyrics("[Verse]\\nla la la\\nla la"), bars=15, bar_seconds=2.0)
    >>> [(s.kind, s.bars, len(s.lines)) for s in form.sections]
    [('intro', 4, 0), ('verse', 4, 2), ('outro', 7, 0)]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..library import vocal_data
from .form import SectionPlan
from .lyrics import Line, Lyrics, Section

_BAR_CHOICES = (1, 2, 4)


@dataclass(frozen=True)
class SungSection:
    """A section of the piece: its arrangement ``kind``, length, and the lyric lines it sings
    (pauses included; none for an instrumental section)."""

    kind: str
    bars: int
    lines: tuple[Line, ...] = ()
    #: The lyric section it performs; None for a section added to fill the duration.
    source: Section | None = None

    @property
    def sung(self) -> bool:
        """Whether anything is sung here."""
        return any(not line.pause for line in self.lines)


@dataclass(frozen=True)
class SongForm:
    """The piece's sections with their lyrics, and how much of the lyrics fitted."""

    sections: tuple[SungSection, ...]
    bars_per_line: int
    lines_given: int

    @property
    def lines_sung(self) -> int:
        """Lyric lines that are sung (pauses not counted)."""
        return sum(1 for s in self.sections for line in s.lines if not line.pause)

    @property
    def truncated(self) -> bool:
        """Whether lines were left out because the duration could not hold them."""
        return self.lines_sung < self.lines_given

    def layout(self) -> list[tuple[str, int]]:
        """(kind, bars) of every section, in order."""
        return [(s.kind, s.bars) for s in self.sections]

    def performed(self) -> Lyrics:
        """The lyric sections as they are performed (only the lines that were sung)."""
        return Lyrics([Section(s.source.name, list(s.lines), s.source.number, s.source.known)
                       for s in self.sections if s.source is not None])


def bars_per_line(bar_seconds: float) -> int:
    """Bars a sung line spans: 1, 2 or 4, whichever lasts nearest the data's line length."""
    target = float(vocal_data()["line"]["seconds"])
    return min(_BAR_CHOICES, key=lambda b: (abs(math.log(b * bar_seconds / target)), b))


def _kind(section: Section) -> str:
    """The arrangement kind a lyric section plays as (unknown tags: verse, or solo if empty)."""
    fallback = "solo" if section.instrumental else "verse"
    kinds = vocal_data()["tag_kinds"]
    return str(kinds.get(section.name, fallback)) if section.known else fallback


def _line_bars(line: Line, per_line: int) -> int:
    return int(vocal_data()["line"]["pause_bars"]) if line.pause else per_line


def _instrumental_bars(kind: str) -> int:
    table = vocal_data()["instrumental_bars"]
    return int(table.get(kind, table["default"]))


@dataclass
class _Row:
    """A section while the form is being fitted."""

    kind: str
    bars: int
    lines: list[Line] = field(default_factory=list)
    source: Section | None = None

    @property
    def instrumental(self) -> bool:
        return not any(not line.pause for line in self.lines)

    @property
    def added(self) -> bool:
        return self.source is None


def fit_lyrics(lyrics: Lyrics, bars: int, bar_seconds: float) -> SongForm:
    """A form of exactly ``bars`` bars built from the lyric sections, in their order."""
    per_line = bars_per_line(bar_seconds)
    if bars <= per_line:
        per_line = max(1, bars - 1) if bars > 1 else 1
    rows = [_row(section, per_line) for section in lyrics.sections]
    if not rows[0].instrumental:
        rows.insert(0, _Row("intro", _instrumental_bars("intro")))
    if not rows[-1].instrumental:
        rows.append(_Row("outro", _instrumental_bars("outro")))
    if bars <= 1:
        rows = _single_bar(rows)
    elif _total(rows) > bars:
        _shrink(rows, bars, per_line)
    else:
        _grow(rows, bars)
    sections = tuple(SungSection(r.kind, r.bars, tuple(r.lines), r.source)
                     for r in rows if r.bars > 0)
    return SongForm(sections, per_line, len(lyrics.lines))


def _row(section: Section, per_line: int) -> _Row:
    kind = _kind(section)
    if section.instrumental:
        return _Row(kind, _instrumental_bars(kind), [], section)
    return _Row(kind, sum(_line_bars(line, per_line) for line in section.lines),
                list(section.lines), section)


def _total(rows: list[_Row]) -> int:
    return sum(r.bars for r in rows)


def _single_bar(rows: list[_Row]) -> list[_Row]:
    """One bar: the first sung line over the closing chord."""
    first = next(r for r in rows if not r.instrumental)
    line = next(line for line in first.lines if not line.pause)
    return [_Row(first.kind, 1, [line], first.source)]


def _shrink(rows: list[_Row], bars: int, per_line: int) -> None:
    """Shorten instrumental sections, then sing lines in order while they fit."""
    for floor in (2, 1):
        while _total(rows) > bars:
            longest = max((r for r in rows if r.instrumental and r.bars > floor),
                          key=lambda r: (r.bars, r.added), default=None)
            if longest is None:
                break
            longest.bars -= 1
    if rows[0].added and _total(rows) > bars:
        rows.pop(0)
    first = next(i for i, r in enumerate(rows) if not r.instrumental)
    if _total(rows[:first]) + per_line + rows[-1].bars > bars:
        del rows[:first]  # the first line is sung, whatever intro was asked for
    if _total(rows) > bars:
        _cut_lines(rows, bars, per_line)


def _cut_lines(rows: list[_Row], bars: int, per_line: int) -> None:
    """Keep whole lines, in order, within the bars left before the closing section."""
    final = rows[-1]
    budget = bars - final.bars
    kept = 0
    for row in rows[:-1]:
        if row.bars <= budget:
            budget -= row.bars
            kept += 1
            continue
        if not row.instrumental:
            lines, used = [], 0
            for line in row.lines:
                cost = _line_bars(line, per_line)
                if used + cost > budget:
                    break
                lines.append(line)
                used += cost
            while lines and lines[-1].pause:
                used -= _line_bars(lines.pop(), per_line)
            if lines:
                row.lines, row.bars = lines, used
                budget -= used
                kept += 1
        break
    del rows[kept:-1]
    final.bars += budget


def _grow(rows: list[_Row], bars: int) -> None:
    """Fill spare bars: a longer added intro and outro, then instrumental sections."""
    cap = 8 if bars >= 64 else 4
    for row in (rows[0], rows[-1]):
        if row.added:
            row.bars += max(0, min(bars - _total(rows), cap - row.bars))
    fills = [str(k) for k in vocal_data()["fill_kinds"]]
    used = 0
    for gap in _gaps(rows):
        if bars - _total(rows) < 4:
            break
        rows.insert(gap, _Row(fills[used % len(fills)], min(8, bars - _total(rows))))
        used += 1
    last_sung = max(i for i, r in enumerate(rows) if not r.instrumental)
    while bars - _total(rows) >= 4:
        last_sung += 1
        rows.insert(last_sung, _Row(fills[used % len(fills)], min(8, bars - _total(rows))))
        used += 1
    rows[-1].bars += bars - _total(rows)


def _gaps(rows: list[_Row]) -> list[int]:
    """Places between two sung sections, latest first (a break before the last chorus)."""
    return [i for i in range(len(rows) - 1, 0, -1)
            if not rows[i].instrumental and not rows[i - 1].instrumental]


# ------------------------------------------------------------ lyrics written for a form ---
def lines_for_form(plans: list[SectionPlan], per_line: int) -> list[tuple[str, int] | None]:
    """For each section of a style's form: (lyric tag, line count) to write, or None where it
    stays instrumental. Counts are even so couplets rhyme (one line when only one fits)."""
    sung = vocal_data()["sung_kinds"]
    out: list[tuple[str, int] | None] = []
    for plan in plans:
        count = plan.bars // per_line
        count = count - count % 2 if count >= 2 else count
        out.append((str(sung[plan.name]), count) if plan.name in sung and count else None)
    return out


def written_form(plans: list[SectionPlan], wanted: list[tuple[str, int] | None],
                 lyrics: Lyrics, per_line: int) -> SongForm:
    """The style's form with the lyric sections written for it, in order."""
    sections = iter(lyrics.sections)
    out = []
    for plan, spec in zip(plans, wanted, strict=True):
        source = next(sections) if spec else None
        lines = tuple(source.lines) if source else ()
        out.append(SungSection(plan.name, plan.bars, lines, source))
    return SongForm(tuple(out), per_line, len(lyrics.lines))
