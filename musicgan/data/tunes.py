"""A parsed ABC tune -> a `Song` of one melody track, made here from the parsed stream, not by music21's
MIDI writer (which fails on meter changes and starts a pickup on the downbeat), so bars land where heard:

- Pickup: a first bar shorter than its meter is moved later by the missing length, so the pickup
  ends an otherwise empty bar 0 and the first full bar starts on the second MIDI downbeat.
- Repeats are played out (`play_order`); a replayed pickup is left out after a full bar.
- Bars: a bar split over two measures (at a repeat sign, or part A's short last bar completed by
  part B's pickup) is joined; a bar of another length gets a signature of its own length, after
  which the notated meter resumes; the last bar may stay short.
- Tuplets keep their exact times; grace notes and chord symbols are dropped; a double stop keeps
  its top note so the track stays one line; ties join notes of the same pitch only.
- The key (and any key change) is written as a MIDI key signature; modes other than minor are
  written as the major key of their signature (A dorian as G major), as MIDI knows only those two.
- `mend_abc` works round what music21's ABC reader gets wrong before it parses a tune.
"""

from collections import Counter

from ..core.constants import MELODY_TRACK
from ..io import midi as midi_io

BPM = 120.0                      # fixed tempo, quarter note = beat (a 6/8 jig's dotted quarter at 80)
SECONDS_PER_QUARTER = 60.0 / BPM
RESOLUTION = 480                 # MIDI ticks per quarter: triplets, quintuplets and 32nds fall on ticks
TRACK_NAME = MELODY_TRACK
PROGRAM = 73                     # General MIDI "Flute": the tunes are for fife, flute, fiddle or voice
EPS = 1e-6                       # quarter-length tolerance


class Skip(Exception):
    """A tune that is not exported; the message is the short reason counted in the summary."""


def measures_of(part):
    """[(measure, length in quarters, TimeSignature in force)] in notated order; empty measures left out."""
    out, ts = [], None
    for m in part.getElementsByClass("Measure"):
        ts = m.timeSignature or ts
        length = float(m.duration.quarterLength)
        if length < EPS:
            continue
        if ts is None:
            raise Skip("no meter before the first bar")
        out.append((m, length, ts))
    return out


def _full(ts):
    return float(ts.barDuration.quarterLength)


def play_order(part, measures):
    """Indices into `measures` in the order they are played.

    A :| goes back once to the last |: (else to just after the previous repeat, else to the start);
    the second time through, a first ending (|1) is left out. music21's `expandRepeats` is not used:
    it sends a second :| with no |: back to the start of the tune (the common "A :| B :|" form
    comes out as AABAAB), and deep-copies every measure (0.1 s a tune).
    """
    from music21 import bar, spanner

    endings = {}                                         # id(measure) -> ending numbers
    for rb in part.getElementsByClass(spanner.RepeatBracket):
        for m in rb.getSpannedElements():
            endings[id(m)] = rb.numberRange

    def mark(barline, direction):
        return isinstance(barline, bar.Repeat) and barline.direction == direction

    order, start, back, i = [], 0, None, 0               # back: index of the :| being repeated
    while i < len(measures):
        m = measures[i][0]
        numbers = endings.get(id(m))
        if back is None and mark(m.leftBarline, "start"):
            start = i
        if back is None or numbers is None or 2 in numbers:
            order.append(i)
            if back is None and numbers is not None and 1 not in numbers:
                start = i + 1                            # a second ending closes its section
        # An overfull bar that music21 splits in two keeps its :| on the left of the second half.
        if (mark(m.rightBarline, "end") or mark(m.leftBarline, "end")) and back is None:
            back, i = i, start
            continue
        if back is not None and i >= back:
            back, start = None, i + 1
        i += 1
    return order


def _is_short(measure):
    _, length, ts = measure
    return length < _full(ts) - EPS


def _bars(measures, order):
    """(bars, kept): [start_quarter, length, TimeSignature] of each bar as heard, and the measures kept.

    A bar split over two measures (at a repeat sign, or part A's short last bar completed by part B's
    pickup) is joined. A pickup that a repeat goes back to is left out when the bar before the :| is
    already full: a player does not play it again there, and it would make a bar of its own.
    """
    bars, kept, start = [], [], 0.0
    for k, i in enumerate(order):
        _, length, ts = measures[i]
        open_bar = bool(bars) and bars[-1][1] < _full(bars[-1][2]) - EPS
        if k and i <= order[k - 1] and _is_short(measures[i]) and not open_bar:
            continue
        if open_bar and bars[-1][1] + length <= _full(bars[-1][2]) + EPS:
            bars[-1][1] += length
        else:
            bars.append([start, length, ts])
        kept.append(i)
        start += length
    return bars, kept


def _meter(quarters, denominator):
    """(num, den) spelling a bar of `quarters`, the notated denominator first: 1.5 in 6/8 -> (3, 8)."""
    for den in (denominator, 4, 8, 16, 32, 64):
        num = quarters * den / 4
        if num >= 1 - EPS and abs(num - round(num)) < EPS:
            return round(num), den
    raise Skip("bar length with no meter")


def _bar_meters(bars):
    """(num, den) each bar is written in: its notated meter, or its own length if irregular."""
    meters = []
    for i, (_, length, ts) in enumerate(bars):
        full = _full(ts)
        whole = abs(length / full - round(length / full)) < EPS and length > full / 2
        short_end = i == len(bars) - 1 and length < full
        regular = whole or short_end or i == 0          # bar 0 is the pickup, padded to a full bar
        meters.append((ts.numerator, ts.denominator) if regular else _meter(length, ts.denominator))
    return meters


def _time_signatures(bars, meters, shift):
    """(num, den, seconds) at each change of meter; times include the pickup's `shift`."""
    sigs = []
    for (start, _, _), num_den in zip(bars, meters):
        if not sigs or sigs[-1][:2] != num_den:
            sigs.append((*num_den, 0.0 if not sigs else (start + shift) * SECONDS_PER_QUARTER))
    return sigs


def _played(measures, order, classes):
    """(quarters from the start, element) of each element of `classes` in the measures as played."""
    start = 0.0
    for i in order:
        m, length, _ = measures[i]
        for e in (m.flatten() if m.hasVoices() else m).getElementsByClass(classes):
            yield start + float(e.offset), e
        start += length


def _notes(measures, order, shift):
    """(pitch, start_s, end_s) of each sounding note; ties join notes of one pitch only.

    music21 reads ABC's "G3-A" (a slur-like dash between two pitches) as a tie, and its stripTies
    would then drop the A.
    """
    from music21 import chord, harmony, note

    notes = []                                           # [pitch, start_q, end_q, tied_on]
    for offset, n in _played(measures, order, [note.Note, chord.Chord]):
        if isinstance(n, harmony.Harmony) or n.duration.isGrace or n.quarterLength <= 0:
            continue
        pitch = max(p.midi for p in n.pitches)           # a double stop keeps its top note
        start = offset + shift
        end = start + float(n.quarterLength)
        if notes and notes[-1][3] and notes[-1][0] == pitch and abs(notes[-1][2] - start) < EPS:
            notes[-1][2] = end
        else:
            notes.append([pitch, start, end, False])
        notes[-1][3] = n.tie is not None and n.tie.type in ("start", "continue")
    return [(p, s * SECONDS_PER_QUARTER, e * SECONDS_PER_QUARTER) for p, s, e, _ in notes]


def key_number(ks):
    """pretty_midi key number (0-11 major, 12-23 minor) of a music21 Key or KeySignature.

    Minor and aeolian are minor; every other mode is the major key of its signature.
    """
    minor = getattr(ks, "mode", None) in ("minor", "aeolian")
    return (7 * ks.sharps + (9 if minor else 0)) % 12 + (12 if minor else 0)


def _key_signatures(measures, order, shift):
    """(key_number, seconds) at each change of key; the first at 0."""
    from music21 import key

    keys = []
    for offset, ks in _played(measures, order, [key.KeySignature]):
        k = key_number(ks)
        if not keys or keys[-1][0] != k:
            keys.append((k, 0.0 if not keys else (offset + shift) * SECONDS_PER_QUARTER))
    return keys


def tune_song(score):
    """(`Song`, info) of a parsed tune, or raise `Skip`.

    info: {"bar meters": Counter of the meter each bar is written in, "repeats": "expanded" or "none"}.
    """
    from music21 import meter

    if not score.parts:
        raise Skip("no notes")
    part = score.parts[0]                                # a tune with voices (V:) keeps its first
    if not part.recurse().getElementsByClass(meter.TimeSignature):
        raise Skip("free meter (M: none)")
    if not part.getElementsByClass("Measure"):
        raise Skip("no bar lines")
    measures = measures_of(part)
    if not measures:
        raise Skip("no notes")
    order = play_order(part, measures)
    bars, kept = _bars(measures, order)
    shift = max(0.0, _full(bars[0][2]) - bars[0][1])      # the pickup's missing length
    meters = _bar_meters(bars)
    notes = _notes(measures, kept, shift)
    if not notes:
        raise Skip("no notes")
    song = midi_io.Song(tracks=[midi_io.make_track(TRACK_NAME, notes, program=PROGRAM)], bpm=BPM,
                        time_signatures=_time_signatures(bars, meters, shift),
                        key_signatures=_key_signatures(measures, kept, shift), resolution=RESOLUTION)
    return song, {"bar meters": Counter(f"{n}/{d}" for n, d in meters),
                  "repeats": "expanded" if len(order) > len(measures) else "none"}


