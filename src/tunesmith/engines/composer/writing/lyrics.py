"""Lyrics as the API receives them: section tags, sung lines, pauses and backing vocals.

``parse_lyrics`` reads the MiniMax-style text (``[Verse]``, ``[Pre Chorus]``, ...; one sung
phrase per line; a blank line is a pause; ``(...)`` is sung by backing vocals) into
:class:`Lyrics`; ``validate_lyrics`` refuses what cannot be sung with a message that says what
to fix. Text without tags is split into verses and choruses (a stanza that comes back is a
chorus).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_LYRICS_CHARS = 3500

#: Canonical section names and how they are written back as tags.
SECTION_TAGS: dict[str, str] = {
    "intro": "Intro", "verse": "Verse", "pre_chorus": "Pre Chorus", "chorus": "Chorus",
    "post_chorus": "Post Chorus", "interlude": "Interlude", "bridge": "Bridge",
    "outro": "Outro", "transition": "Transition", "break": "Break", "hook": "Hook",
    "build_up": "Build Up", "inst": "Inst", "solo": "Solo",
}
#: Other spellings people use for the same sections (after lower-casing and squeezing).
TAG_ALIASES: dict[str, str] = {
    "prechorus": "pre_chorus", "postchorus": "post_chorus", "buildup": "build_up",
    "build": "build_up", "instrumental": "inst", "refrain": "chorus", "breakdown": "break",
}
#: Sections that are instrumental unless lines are written under them.
INSTRUMENTAL_SECTIONS = frozenset({"inst", "solo", "break", "interlude", "transition"})

_TAG = re.compile(r"^\s*\[([^\[\]]*)\]\s*$")
_BACKING = re.compile(r"\(([^()]*)\)")
_STANZA_LINES = 4  # an untagged block longer than two stanzas is cut into stanzas of this size


class LyricsError(ValueError):
    """Lyrics that cannot be sung; the message says what to change."""


@dataclass(frozen=True)
class Line:
    """One sung phrase: ``text`` for the lead, ``backing`` for the parts in parentheses.
    A pause (blank line) has neither."""

    text: str
    backing: tuple[str, ...] = ()
    raw: str = ""

    @property
    def pause(self) -> bool:
        """Whether this is a blank-line pause."""
        return not self.text and not self.backing

    def to_text(self) -> str:
        """The line as it was written (backing parts in parentheses)."""
        return self.raw or " ".join([self.text] + [f"({b})" for b in self.backing]).strip()


@dataclass
class Section:
    """A tagged part of the song: canonical ``name`` (``verse``, or an unknown tag's own
    words), optional ``number`` (``[Verse 2]``) and its lines."""

    name: str
    lines: list[Line] = field(default_factory=list)
    number: int | None = None
    known: bool = True

    @property
    def sung_lines(self) -> list[Line]:
        """Lines with something to sing."""
        return [line for line in self.lines if not line.pause]

    @property
    def instrumental(self) -> bool:
        """No lines to sing (an ``[Inst]`` or ``[Solo]`` usually)."""
        return not self.sung_lines

    @property
    def tag(self) -> str:
        """The tag that opens this section when written back."""
        title = SECTION_TAGS.get(self.name, self.name.replace("_", " ").title())
        return f"[{title}{f' {self.number}' if self.number is not None else ''}]"


@dataclass
class Lyrics:
    """Parsed lyrics: sections in order."""

    sections: list[Section]
    #: Whether the text had section tags (untagged text was split into verses and choruses).
    tagged: bool = True

    @property
    def lines(self) -> list[Line]:
        """Every sung line, in order."""
        return [line for s in self.sections for line in s.sung_lines]

    def to_text(self, tags: bool = True) -> str:
        """Render back to tagged text (parses to the same sections); ``tags=False`` writes
        stanzas separated by blank lines, as untagged lyrics are written."""
        blocks = [
            "\n".join(([s.tag] if tags else []) + [line.to_text() for line in s.lines])
            for s in self.sections if tags or s.lines
        ]
        return "\n\n".join(blocks)


def normalise_tag(tag: str) -> tuple[str, int | None, bool]:
    """``" Pre-Chorus 2 "`` -> ``("pre_chorus", 2, True)``; unknown tags keep their words."""
    words = re.sub(r"[\s_\-]+", " ", tag.strip().lower()).strip()
    number = None
    match = re.fullmatch(r"(.*?)\s*(\d+)", words)
    if match and match.group(1):
        words, number = match.group(1), int(match.group(2))
    key = words.replace(" ", "_")
    squeezed = words.replace(" ", "")
    if key in SECTION_TAGS:
        return key, number, True
    if squeezed in TAG_ALIASES:
        return TAG_ALIASES[squeezed], number, True
    for name in SECTION_TAGS:
        if name.replace("_", "") == squeezed:
            return name, number, True
    return key or "section", number, False


def parse_line(raw: str) -> Line:
    """Split a lyric line into lead text and backing-vocal parts in parentheses."""
    backing = tuple(b.strip() for b in _BACKING.findall(raw) if b.strip())
    text = re.sub(r"\s+", " ", _BACKING.sub(" ", raw)).strip()
    return Line(text=text, backing=backing, raw=raw.strip())


def _tagged_sections(rows: list[str]) -> list[Section]:
    sections: list[Section] = []
    for row in rows:
        tag = _TAG.match(row)
        if tag:
            name, number, known = normalise_tag(tag.group(1))
            sections.append(Section(name, number=number, known=known))
            continue
        if not sections:
            sections.append(Section("verse"))
        lines = sections[-1].lines
        if row.strip():
            lines.append(parse_line(row))
        elif lines and not lines[-1].pause:
            lines.append(Line(""))
    for section in sections:
        while section.lines and section.lines[-1].pause:
            section.lines.pop()
    return sections


def _stanzas(rows: list[str]) -> list[list[str]]:
    """Blocks of lines between blank lines; one long block is cut into four-line stanzas."""
    blocks: list[list[str]] = [[]]
    for row in rows:
        if row.strip():
            blocks[-1].append(row.strip())
        elif blocks[-1]:
            blocks.append([])
    blocks = [b for b in blocks if b]
    if len(blocks) == 1 and len(blocks[0]) > 2 * _STANZA_LINES:
        only = blocks[0]
        blocks = [only[i:i + _STANZA_LINES] for i in range(0, len(only), _STANZA_LINES)]
    return blocks


def _stanza_key(stanza: list[str]) -> str:
    return " / ".join(re.sub(r"[^\w\s]", "", s.lower()).strip() for s in stanza)


def _untagged_sections(rows: list[str]) -> list[Section]:
    """Verses and choruses from plain text: a stanza that appears twice or more is a chorus."""
    stanzas = _stanzas(rows)
    keys = [_stanza_key(s) for s in stanzas]
    sections = []
    for stanza, key in zip(stanzas, keys, strict=False):
        name = "chorus" if keys.count(key) > 1 else "verse"
        sections.append(Section(name, lines=[parse_line(r) for r in stanza]))
    return sections


def parse_lyrics(text: str) -> Lyrics:
    """Parse lyrics text into sections of lines (see the module docstring for the format)."""
    rows = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if any(_TAG.match(row) for row in rows):
        return Lyrics(_tagged_sections(rows))
    return Lyrics(_untagged_sections(rows), tagged=False)


def validate_lyrics(text: str | None, instrumental: bool = False) -> None:
    """Raise :class:`LyricsError` when lyrics are empty, too long, contradict an instrumental
    request or have nothing to sing."""
    if text is None:
        return
    if instrumental:
        if text.strip():
            raise LyricsError("lyrics were given for an instrumental track: drop the lyrics or "
                              "set is_instrumental to false")
        return
    if not text.strip():
        raise LyricsError("lyrics are empty: write at least one line to sing, or leave lyrics out")
    if len(text) > MAX_LYRICS_CHARS:
        raise LyricsError(f"lyrics are {len(text)} characters long; the limit is "
                          f"{MAX_LYRICS_CHARS}: shorten them")
    if not parse_lyrics(text).lines:
        raise LyricsError("lyrics have section tags but no line to sing: write lines under the "
                          "tags, e.g. '[Verse]\\nfirst line'")
