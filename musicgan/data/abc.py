"""ABC text before music21 reads it: a file cut into tunes, what music21 (10.5) misreads mended, the meters named.

Used by `folk` to export the ABC collections music21 ships.
"""

import contextlib
import re
from collections import Counter

TUNE_START = re.compile(r"(?m)^(?=X:)")
METER_FIELD = re.compile(r"(?m)^M:(.*)$|\[M:([^\]]*)\]")
INLINE_FIELD_AFTER_BAR = re.compile(r"(?<=[|:])[ \t]*\[([KLM]:[^\]\n]*)\][ \t]*")
GRACE_NOTES = re.compile(r"\{[^}]*\}")
HEADER_LINE = re.compile(r"[A-Za-z]:|%|\s*$")    # a field, a comment or blank; anything else is dropped
FIELD_LINES_AFTER_BAR = re.compile(r"(?<=[|:])[ \t]*\n(?:[A-Za-z]:[^\n]*\n)*[KLM]:[^\n]*\n(?:[A-Za-z]:[^\n]*\n)*")


def split_tunes(text, stem):
    """[(name, ABC text of one tune)] of an ABC file: one entry per X: header, the file header kept.

    `name` is "<stem>_<X: number>"; a number used twice in one file gets "-2", "-3" after it.
    """
    header, *tunes = TUNE_START.split(text)
    out, seen = [], Counter()
    for tune in tunes:
        number = (tune.split("\n", 1)[0][2:].split() or ["0"])[0]
        number = str(int(number)) if number.isdigit() else re.sub(r"[^\w.-]", "_", number)
        seen[number] += 1
        suffix = f"-{seen[number]}" if seen[number] > 1 else ""
        out.append((f"{stem}_{number}{suffix}", header + tune))
    return out


def parse_tune(text):
    """music21 Score of one tune's ABC text, mended first (`mend_abc`)."""
    from music21 import abcFormat

    with _no_beams():
        return abcFormat.translate.abcToStreamScore(abcFormat.ABCFile().readstr(mend_abc(text)))


def mend_abc(text):
    """One tune's ABC text with what music21 (10.5) misreads taken out or made explicit.

    - Grace notes {...} are dropped (they are not exported anyway): inside a tuplet music21 counts
      one as a tuplet note, so "(3{d}cBA" gives the A a full eighth and the bar overflows.
    - A header line that is not a field (Aird's "I (1) :| (2) ||") is dropped; music21 reads it as
      a bar of music, before the meter.
    - A K:, L: or M: field that starts a bar of the body gets a bar line after it: music21 drops
      such a field (the meter or key change is lost) unless a bar line follows, and makes no empty
      bar of it. An inline "[M:3/4]" after a bar line is written as a field line first.
    """
    head, sep, body = text.partition("\nK:")
    head = "\n".join(line for line in head.split("\n") if HEADER_LINE.match(line))
    key_line, newline, body = body.partition("\n")

    def bar_after(match):
        follows = match.string[match.end():].lstrip(" \t")[:1]
        return match[0] if follows in ("|", ":") else match[0] + "|"

    body = GRACE_NOTES.sub("", body)
    body = INLINE_FIELD_AFTER_BAR.sub(lambda m: f"\n{m[1]}\n", body)
    return head + sep + key_line + newline + FIELD_LINES_AFTER_BAR.sub(bar_after, body)


@contextlib.contextmanager
def _no_beams():
    """Skip the beaming music21's ABC reader does on every part: over half its time, and MIDI has no beams."""
    from music21 import stream

    saved = stream.Stream.makeBeams
    stream.Stream.makeBeams = lambda self, *args, **kwargs: None
    try:
        yield
    finally:
        stream.Stream.makeBeams = saved


def notated_meters(text):
    """The meters an ABC tune's M: fields name, in order, repeats collapsed: ["2/4", "3/4"]; "none" is left out."""
    meters = []
    for match in METER_FIELD.finditer(text):
        value = (match[1] if match[1] is not None else match[2]).split("%")[0].strip()
        fraction = re.search(r"(\d+)\s*/\s*(\d+)", value)
        m = {"C": "4/4", "C|": "2/2"}.get(value) or (f"{fraction[1]}/{fraction[2]}" if fraction else None)
        if m and (not meters or meters[-1] != m):
            meters.append(m)
    return meters
