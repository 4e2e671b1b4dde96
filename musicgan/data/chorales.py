"""Export the Bach chorales shipped with music21 to MIDI files, one track per SATB voice, reproducibly."""

import collections
import contextlib
import multiprocessing
import os
import time
from pathlib import Path

from ..io import midi as midi_io

BPM = 80.0                                   # fixed tempo, quarter note = beat
SECONDS_PER_QUARTER = 60.0 / BPM
PROGRAM = 52                                 # General MIDI "Choir Aahs", every voice
VOICES = ("soprano", "alto", "tenor", "bass")
TRACK_NAMES = {"soprano": "Soprano (melody)", "alto": "Alto", "tenor": "Tenor", "bass": "Bass"}
SOURCE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn")   # MusicXML first
EPS = 1e-6                                   # quarter-length tolerance


class Skip(Exception):
    """A chorale that is not exported; the message is the short reason counted in the summary."""


def chorale_names():
    """Corpus names of the 371 Riemenschneider chorales, in order, duplicates kept."""
    from music21 import corpus

    return list(corpus.chorales.Iterator(returnType="filename"))


def source_file(name):
    """Corpus path ('bach/bwv69.6.xml') of the file named `name`, MusicXML preferred.

    `corpus.parse("bach/bwv69.6")` alone takes the first of all prefix matches: bwv69.6-a.mxl (another
    chorale), bwv112.5-sc.mxl, bwv190.7-inst.mxl, or the Humdrum .krn (no part names) of bwv277/281/366.
    Only a name no file has exactly (bwv18.5-l, whose file is bwv18.5-lz.mxl) falls back to its prefix match.
    """
    from music21 import corpus

    works = corpus.getWork(name)
    works = works if isinstance(works, list) else [works]
    folder, stem = name.rsplit("/", 1)
    candidates = [p for p in works if p.stem == stem] or works
    rank = {s: i for i, s in enumerate(SOURCE_SUFFIXES)}
    candidates = sorted((p for p in candidates if p.suffix in rank), key=lambda p: (rank[p.suffix], p.name))
    if not candidates:
        raise Skip("no readable corpus file")
    return f"{folder}/{candidates[0].name}"


def _voice_parts(score):
    """{voice: part} for the first part whose name starts with each voice ('Soprano 1', 'Bass Continuo')."""
    parts = {}
    for part in score.parts:
        words = (part.partName or "").lower().split()
        if words and words[0] in VOICES:
            parts.setdefault(words[0], part)
    return parts


def _notes(part, shift):
    """(pitch, start_s, end_s) of every sounding note; `shift` quarters delay the whole part."""
    notes = []
    for n in part.flatten().stripTies().notes:          # Note and Chord; rests excluded
        if n.duration.isGrace or n.quarterLength <= 0:
            continue
        start = (float(n.offset) + shift) * SECONDS_PER_QUARTER
        end = start + float(n.quarterLength) * SECONDS_PER_QUARTER
        notes.extend((p.midi, start, end) for p in n.pitches)
    return notes


def _bars(part, shift):
    """[start_quarter, length, TimeSignature] of each bar as heard; the pickup bar starts at -`shift`.

    A bar split over two measures (at a mid-bar repeat sign or phrase break) is joined back together,
    and a meter change inside such a split bar takes effect at the next bar.
    """
    from music21 import meter

    bars, ts = [], meter.TimeSignature("4/4")
    for m in part.getElementsByClass("Measure"):
        ts = m.timeSignature or ts
        length = float(m.duration.quarterLength)
        if not bars:
            bars.append([-shift, shift + length, ts])
            continue
        full = bars[-1][2].barDuration.quarterLength
        if bars[-1][1] < full - EPS and bars[-1][1] + length <= full + EPS:
            bars[-1][1] += length
        else:
            bars.append([float(m.offset), length, ts])
    return bars


def _meter(quarters):
    """(num, den) spelling a bar of `quarters` quarter notes: 3.0 -> (3, 4), 1.5 -> (3, 8)."""
    for den in (4, 8, 16, 32):
        num = quarters * den / 4
        if abs(num - round(num)) < EPS:
            return round(num), den
    raise Skip("bar length with no meter")


def _time_signatures(part, shift):
    """(num, den, seconds) of each meter change, so that every notated bar starts on a MIDI downbeat.

    A bar the score leaves short or long (a shortened phrase-end bar, bwv276 bar 21 of one beat) gets a
    signature of its own length, then the notated meter resumes; the last bar may stay incomplete.
    """
    bars = _bars(part, shift)
    sigs = []
    for i, (start, length, ts) in enumerate(bars):
        regular = abs(length - ts.barDuration.quarterLength) < EPS or i == len(bars) - 1
        num_den = (ts.numerator, ts.denominator) if regular else _meter(length)
        if not sigs or sigs[-1][:2] != num_den:
            sigs.append((*num_den, (start + shift) * SECONDS_PER_QUARTER))
    return sigs


def chorale_song(score):
    """`Song` of a parsed chorale, or raise `Skip`."""
    parts = _voice_parts(score)
    if "soprano" not in parts:
        raise Skip("no soprano part")
    if len(parts) < 2:
        raise Skip("soprano only")
    soprano = parts["soprano"]
    first_bar = soprano.getElementsByClass("Measure").first()
    # A pickup of d quarters is padded by paddingLeft quarters so bar 1 starts on a MIDI downbeat.
    shift = float(first_bar.paddingLeft) if first_bar is not None else 0.0
    tracks = [midi_io.make_track(TRACK_NAMES[v], _notes(parts[v], shift), program=PROGRAM)
              for v in VOICES if v in parts]
    if not len(tracks[0]):
        raise Skip("soprano has no notes")
    return midi_io.Song(tracks=tracks, bpm=BPM, time_signatures=_time_signatures(soprano, shift))


def export_one(name, out_dir):
    """Write one chorale to out_dir/<source file stem>.mid; return None, or why it was skipped."""
    from music21 import corpus

    try:
        source = source_file(name)
        score = corpus.parse(source, forceSource=True)      # no shared pickle cache between workers
        midi_io.write_song(chorale_song(score), Path(out_dir) / f"{Path(source).stem}.mid")
    except Skip as e:
        return str(e)
    except Exception as e:  # noqa: BLE001 - one bad chorale never stops the run
        return f"error: {type(e).__name__}"
    return None


def _export_args(args):
    return export_one(*args)


def export_chorales(out_dir, jobs=None, limit=None, progress=True):
    """Export the chorales into `out_dir` over `jobs` processes (all CPUs by default).

    `limit` keeps the first `limit` distinct chorales. Returns {"written": n, "skipped": {reason:
    count}, "seconds": s}. Corpus entries naming the same file (the Riemenschneider set repeats
    some chorales) are exported once and counted as skipped "duplicate corpus entry".
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    names = chorale_names()
    counts = collections.Counter(names)
    unique = list(counts)[:limit]                       # Counter keeps first-seen order
    skipped = collections.Counter({"duplicate corpus entry": sum(counts[n] - 1 for n in unique)})
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(unique) or 1))
    tasks = [(name, str(out_dir)) for name in unique]

    written = 0
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(jobs) if jobs > 1 else contextlib.nullcontext() as pool:
        results = pool.imap_unordered(_export_args, tasks) if pool else map(_export_args, tasks)
        for reason in tqdm(results, total=len(tasks), desc="chorales", unit="file", disable=not progress):
            if reason is None:
                written += 1
            else:
                skipped[reason] += 1
    return {"written": written, "skipped": dict(sorted((+skipped).items())),
            "seconds": round(time.perf_counter() - t0, 1)}
