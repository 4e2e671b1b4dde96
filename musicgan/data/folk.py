"""Export the ABC folk tunes shipped with music21 (Essen, O'Neill's, Ryan's, Aird's) to MIDI, one melody each.

Each tune becomes out_dir/<collection>/<ABC file stem>_<X: number>.mid with one track named "Melody"
at a fixed tempo. The MIDI is written here from the parsed stream, not by music21's MIDI writer
(which fails on meter changes and starts a pickup on the downbeat), so that bars land where heard:

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

import contextlib
import hashlib
import json
import multiprocessing
import os
import re
import time
from collections import Counter
from pathlib import Path

from .. import midi_io
from ..files import write_text

BPM = 120.0                      # fixed tempo, quarter note = beat (a 6/8 jig's dotted quarter at 80)
SECONDS_PER_QUARTER = 60.0 / BPM
RESOLUTION = 480                 # MIDI ticks per quarter: triplets, quintuplets and 32nds fall on ticks
TRACK_NAME = "Melody"
PROGRAM = 73                     # General MIDI "Flute": the tunes are for fife, flute, fiddle or voice
COLLECTIONS = {                  # output folder -> folder of music21's corpus
    "essen": "essenFolksong",
    "oneills": "oneills1850",
    "ryans": "ryansMammoth",
    "airds": "airdsAirs",
}
FORMAT = 1                       # bump when the written files change: an older build is then redone
MARKER = ".complete.json"        # written last; its presence with the same key means "already built"
EPS = 1e-6                       # quarter-length tolerance
TUNE_START = re.compile(r"(?m)^(?=X:)")
METER_FIELD = re.compile(r"(?m)^M:(.*)$|\[M:([^\]]*)\]")
INLINE_FIELD_AFTER_BAR = re.compile(r"(?<=[|:])[ \t]*\[([KLM]:[^\]\n]*)\][ \t]*")
GRACE_NOTES = re.compile(r"\{[^}]*\}")
HEADER_LINE = re.compile(r"[A-Za-z]:|%|\s*$")    # a field, a comment or blank; anything else is dropped
FIELD_LINES_AFTER_BAR = re.compile(r"(?<=[|:])[ \t]*\n(?:[A-Za-z]:[^\n]*\n)*[KLM]:[^\n]*\n(?:[A-Za-z]:[^\n]*\n)*")


class Skip(Exception):
    """A tune that is not exported; the message is the short reason counted in the summary."""


def collection_paths(names=None):
    """{collection: [ABC paths, sorted]} of the named collections of music21's corpus (all by default)."""
    import music21

    unknown = sorted(set(names or ()) - set(COLLECTIONS))
    if unknown:
        raise ValueError(f"unknown folk collection {', '.join(unknown)} (known: {', '.join(COLLECTIONS)})")
    corpus = Path(music21.__file__).parent / "corpus"
    return {name: sorted((corpus / COLLECTIONS[name]).glob("*.abc")) for name in names or COLLECTIONS}


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


def export_tune(collection, name, text, out_dir):
    """Write one tune to out_dir/<collection>/<name>.mid; return (collection, name, skip reason or None, info)."""
    try:
        try:
            score = parse_tune(text)
        except Exception as e:  # noqa: BLE001 - music21's ABC reader raises many kinds on odd input
            raise Skip(f"parse error: {type(e).__name__}") from None
        song, info = tune_song(score)
        midi_io.write_song(song, Path(out_dir) / collection / f"{name}.mid")
        notated = notated_meters(text)
        info = {"meters": " ".join(notated), "repeats": info["repeats"],
                "irregular bars": sum(n for m, n in info["bar meters"].items() if m not in notated)}
    except Skip as e:
        return collection, name, str(e), None
    except Exception as e:  # noqa: BLE001 - one bad tune never stops the run
        return collection, name, f"error: {type(e).__name__}", None
    return collection, name, None, info


def _export_args(args):
    return export_tune(*args)


def _sources(collections_):
    """{collection: [ABC paths]} from None, names, or a mapping of names to paths (own ABC files)."""
    if isinstance(collections_, dict):
        return {name: sorted(Path(p) for p in paths) for name, paths in collections_.items()}
    return collection_paths(collections_)


def _build_key(sources, limit):
    """What the output depends on: the ABC bytes, music21's version, this exporter's format, `limit`."""
    import music21

    digest = hashlib.sha256()
    for name, paths in sorted(sources.items()):
        for path in paths:
            digest.update(f"{name}/{path.name}\0".encode())
            digest.update(path.read_bytes())
    return {"format": FORMAT, "music21": music21.__version__, "limit": limit, "sources": digest.hexdigest()}


def _files_digest(out_dir, names):
    """Hash of the names and sizes of the .mid files in the collection folders."""
    digest = hashlib.sha256()
    for name in sorted(names):
        for path in sorted((out_dir / name).glob("*.mid")):
            digest.update(f"{name}/{path.name} {path.stat().st_size}\n".encode())
    return digest.hexdigest()


def _cached_summary(out_dir, key, names):
    """The stored summary if out_dir holds a complete build with this key and its files, else None."""
    try:
        marker = json.loads((out_dir / MARKER).read_text())
    except (OSError, ValueError):
        return None
    if marker.get("key") != key or marker.get("files") != _files_digest(out_dir, names):
        return None
    return {**marker["summary"], "cached": True}


def _tunes(sources, limit):
    """[(collection, tune name, ABC text)] of the first `limit` tunes of each collection, in file order."""
    out = []
    for name, paths in sorted(sources.items()):
        tunes = [t for p in paths for t in split_tunes(p.read_text(encoding="utf-8", errors="replace"), p.stem)]
        out.extend((name, tune, text) for tune, text in tunes[:limit])
    return out


def _summary(results, names, seconds):
    """The summary dict of export_folk from the (collection, tune, reason, info) of every tune."""
    per = {name: {"tunes": 0, "written": 0, "repeats expanded": 0, "irregular bars": 0, "meters": Counter()}
           for name in sorted(names)}
    skipped, skipped_tunes = Counter(), {}
    for name, tune, reason, info in results:
        c = per[name]
        c["tunes"] += 1
        if reason is not None:
            skipped[reason] += 1
            skipped_tunes.setdefault(reason, []).append(f"{name}/{tune}")
            continue
        c["written"] += 1
        c["repeats expanded"] += info["repeats"] == "expanded"
        c["irregular bars"] += info["irregular bars"] > 0
        c["meters"][info["meters"] or "unnotated"] += 1
    meters = sum((c["meters"] for c in per.values()), Counter())
    for c in per.values():
        c["meters"] = dict(c["meters"].most_common())
    return {"written": sum(c["written"] for c in per.values()),
            "skipped": dict(sorted(skipped.items())),
            "seconds": round(seconds, 1),
            "collections": per,
            "meters": dict(meters.most_common()),
            "repeats expanded": sum(c["repeats expanded"] for c in per.values()),
            "irregular bars": sum(c["irregular bars"] for c in per.values()),
            "skipped tunes": {r: sorted(t) for r, t in sorted(skipped_tunes.items())},
            "cached": False}


def export_folk(out_dir, jobs=None, limit=None, progress=True, collections=None):
    """Export the folk tunes into out_dir/<collection>/ over `jobs` processes (all CPUs by default).

    `collections`: names from `COLLECTIONS` (all four by default), or {folder name: [ABC paths]}
    to export your own ABC files. `limit` keeps the first `limit` tunes of each collection.
    A finished build leaves out_dir/.complete.json; a second call with the same inputs (ABC bytes,
    music21 version, `FORMAT`, `limit`) and all its files in place returns that summary at once,
    with "cached": True. Otherwise every tune is exported again, and .mid files in the collection
    folders that this build did not write are removed.

    Returns {"written": n, "skipped": {reason: n}, "seconds": s, "collections": {name: {"tunes",
    "written", "repeats expanded", "irregular bars", "meters"}}, "meters": {"6/8": n, "2/4 3/4": n},
    "repeats expanded": n, "irregular bars": n, "skipped tunes": {reason: ["essen/han1_434", ...]},
    "cached": False}. "meters" counts the meters each tune's M: fields name, in order; "irregular
    bars" counts the tunes with a bar of another length, written with a signature of its own.
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    sources = _sources(collections)
    key = _build_key(sources, limit)
    cached = _cached_summary(out_dir, key, sources)
    if cached is not None:
        return cached
    (out_dir / MARKER).unlink(missing_ok=True)

    tasks = [(*tune, str(out_dir)) for tune in _tunes(sources, limit)]
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(tasks) or 1))
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(jobs) if jobs > 1 else contextlib.nullcontext() as pool:
        # Tunes, not files, are the tasks: one Essen file holds 720 tunes, and the bar counts tunes.
        results = pool.imap_unordered(_export_args, tasks, chunksize=8) if pool else map(_export_args, tasks)
        results = list(tqdm(results, total=len(tasks), desc="folk tunes", unit="tune", disable=not progress))

    for name in sources:
        keep = {f"{tune}.mid" for c, tune, reason, _ in results if c == name and reason is None}
        for path in (out_dir / name).glob("*.mid"):
            if path.name not in keep:
                path.unlink()
    summary = _summary(results, sources, time.perf_counter() - t0)
    out_dir.mkdir(parents=True, exist_ok=True)
    marker = {"key": key, "files": _files_digest(out_dir, sources), "summary": summary}
    write_text(out_dir / MARKER, json.dumps(marker, indent=1) + "\n")
    return summary
