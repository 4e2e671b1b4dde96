"""How often musicgan's per-beat chord ids agree with music21 on the bundled Bach chorales.

For each MIDI file in data/chorales, music21 parses the *same MIDI file*, chordifies it, and for
every beat takes the chordified chord sounding at that beat's quarter offset and names it with
`harmony.chordSymbolFromChord` (root pitch class + chordKind). musicgan reads the file with
`midi_io.read_song` and labels each beat with `encoding.beat_chords`, from two chord sources:
melody weight 0 (alto + tenor + bass), 0.25, 0.5 (the default: the soprano votes half) and 1 (all
four voices alike); see Representation.melody_chord_weight.

Root agreement counts every beat where music21 gives a root (N.C. on our side is a miss).
Root+quality agreement counts only beats whose chordKind maps onto one of musicgan's 13 qualities;
other kinds (power, pedal, ninths, augmented sixths, ...) are counted as "other" and reported apart.
A beat with no chord sounding, or that music21 cannot name ("Chord Symbol Cannot Be Identified",
or an exception), has no symbol and is left out of both. MIDI carries no enharmonic spelling, so
music21 may misname a chord spelled G#-C-F (F minor) as a power chord; --respell runs
`simplifyEnharmonics` on each chord first. Only files whose every time signature is 4/4 are used
(the meter `prepare` accepts), unless --all-meters. Beat k of the MIDI is at quarter offset
beats[k] * bpm / 60 (80 bpm, quarter beats).

Run from the repository root:
    .venv/bin/python bench/chord_agreement.py [--data data/chorales] [--limit N] [--jobs 2]
        [--respell] [--all-meters] [--out bench/chord_agreement.json]
Prints a table and writes bench/chord_agreement.json.
"""

import argparse
import bisect
import collections
import json
import multiprocessing
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from musicgan.data import phrases as encoding
from musicgan.data.grid import song_grid
from musicgan.data.melody import pick_melody
from musicgan.harmony import chords
from musicgan.io import midi as midi_io

KINDS = {"major": "maj", "minor": "min", "dominant-seventh": "7", "minor-seventh": "m7",
         "major-seventh": "maj7", "diminished": "dim", "augmented": "aug", "suspended-fourth": "sus4",
         "suspended-second": "sus2", "major-sixth": "6", "minor-sixth": "m6",
         "half-diminished-seventh": "m7b5", "diminished-seventh": "dim7"}
MELODY_WEIGHTS = (0.0, 0.25, 0.5, 1.0)
SOURCES = tuple(f"melody weight {w:g}" for w in MELODY_WEIGHTS)
ALL_METERS = RESPELL = False


def label(root, quality):
    """'Gm', 'C', 'D7', 'C(power)' from a root pitch class and a musicgan quality name or m21 kind."""
    sym = {"maj": "", "min": "m"}.get(quality, quality)
    return chords.NOTE_NAMES[root] + (sym if quality in chords.QUALITY_NAMES else f"({quality})")


def one_file(path):
    """('ok', [(m21 root, m21 kind, our id for each of MELODY_WEIGHTS...) per beat]) or ('skip', why).

    A beat music21 cannot name has root -1 and the reason in place of the kind."""
    from music21 import converter, harmony

    song = midi_io.read_song(path)
    if not ALL_METERS and any((n, d) != (4, 4) for n, d, _ in song.time_signatures):
        return "skip", "not 4/4 throughout"
    grid = song_grid(song)
    m, _ = pick_melody(song.tracks)
    ours = [encoding.beat_chords(song.tracks, grid, [w if i == m else 1.0 for i in range(len(song.tracks))])
            for w in MELODY_WEIGHTS]
    found = list(converter.parse(path).chordify().flatten().getElementsByClass("Chord"))
    starts = [float(c.offset) for c in found]
    rows = []
    for k in range(len(ours[0])):
        q = float(song.beats[k]) * song.bpm / 60.0
        i = bisect.bisect_right(starts, q + 1e-6) - 1
        root, kind = -1, "no chord sounding"
        if i >= 0 and q < starts[i] + float(found[i].quarterLength) - 1e-6:
            try:
                chord = found[i].simplifyEnharmonics(inPlace=False) if RESPELL else found[i]
                cs = harmony.chordSymbolFromChord(chord)
                named = (cs.root().pitchClass, cs.chordKind)
                root, kind = named if cs.chordKind else (-1, "cannot be identified")
            except Exception as e:  # noqa: BLE001 - music21 raises anything on odd chords
                kind = f"error {type(e).__name__}"
        rows.append((root, kind, *(int(o[k]) for o in ours)))
    return "ok", rows


def init(all_meters, respell):
    global ALL_METERS, RESPELL
    ALL_METERS, RESPELL = all_meters, respell


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="data/chorales", help="folder of chorale MIDI files")
    ap.add_argument("--limit", type=int, default=None, help="use the first N files (default all)")
    ap.add_argument("--jobs", type=int, default=multiprocessing.cpu_count(), help="worker processes")
    ap.add_argument("--all-meters", action="store_true", help="also use files not in 4/4 throughout")
    ap.add_argument("--respell", action="store_true",
                    help="simplifyEnharmonics() each chord first (MIDI has no spelling: G# vs Ab)")
    ap.add_argument("--out", default=str(Path(__file__).with_suffix(".json")), help="JSON results file")
    args = ap.parse_args()

    paths = sorted(str(p) for p in Path(args.data).glob("*.mid"))[:args.limit]
    t0 = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(args.jobs, init, (args.all_meters, args.respell)) as pool:
        results = pool.map(one_file, paths, chunksize=4)
    seconds = time.perf_counter() - t0

    skipped = collections.Counter(r for s, r in results if s == "skip")
    beats = [row for s, rows in results if s == "ok" for row in rows]
    no_symbol = collections.Counter(k for r, k, *_ in beats if r < 0)
    other_kinds = collections.Counter(k for r, k, *_ in beats if r >= 0 and k not in KINDS)
    out = {"respell": args.respell, "all_meters": args.all_meters, "files_found": len(paths),
           "files_used": len(paths) - sum(skipped.values()), "files_skipped": dict(skipped),
           "beats": len(beats), "beats_no_music21_symbol": sum(no_symbol.values()),
           "no_symbol_reasons": dict(no_symbol.most_common()),
           "beats_other_kind": sum(other_kinds.values()), "other_kinds": dict(other_kinds.most_common()),
           "seconds": round(seconds, 1), "sources": {}}
    for s, source in enumerate(SOURCES):
        root_n = root_ok = q_n = q_ok = 0
        confusion, relative = collections.Counter(), collections.Counter()
        for r, kind, *ids in beats:
            if r < 0:
                continue
            cid = ids[s]
            our_root = int(chords.ROOTS[cid])
            root_n += 1
            root_ok += our_root == r
            if kind not in KINDS:
                continue
            q_n += 1
            ours_q = chords.quality_name(cid)
            if our_root == r and ours_q == KINDS[kind]:
                q_ok += 1
                continue
            confusion[f"{label(r, KINDS[kind])} -> {chords.chord_name(cid)}"] += 1
            step = "" if cid == 0 else f" root {(our_root - r) % 12:+d}" if our_root != r else " same root"
            relative[f"{KINDS[kind]} -> {ours_q}{step}"] += 1
        out["sources"][source] = {
            "root_agreement_pct": round(100 * root_ok / max(root_n, 1), 2), "root_beats": root_n,
            "root_quality_agreement_pct": round(100 * q_ok / max(q_n, 1), 2), "root_quality_beats": q_n,
            "top_disagreements": dict(confusion.most_common(10)),
            "top_disagreements_by_quality": dict(relative.most_common(10))}

    print(f"files: {out['files_used']} used of {out['files_found']} "
          f"(skipped: {dict(skipped) or 'none'}), {seconds:.1f} s, {args.jobs} jobs")
    print(f"beats: {len(beats)}; music21 no symbol: {sum(no_symbol.values())} "
          f"({', '.join(f'{k} {n}' for k, n in no_symbol.most_common())})")
    print(f"music21 'other' kind (root agreement only): {out['beats_other_kind']} "
          f"({', '.join(f'{k} {n}' for k, n in other_kinds.most_common(6))})")
    print()
    print(f"{'chords from':<18} {'root %':>8} {'beats':>7} {'root+quality %':>15} {'beats':>7}")
    for source, r in out["sources"].items():
        print(f"{source:<18} {r['root_agreement_pct']:>8.2f} {r['root_beats']:>7} "
              f"{r['root_quality_agreement_pct']:>15.2f} {r['root_quality_beats']:>7}")
    for source, r in out["sources"].items():
        print(f"\n{source}: top disagreements (music21 -> ours){'':8}by quality (music21 -> ours, our root)")
        for (a, n), (b, m) in zip(r["top_disagreements"].items(), r["top_disagreements_by_quality"].items()):
            print(f"  {n:>5}  {a:<30} {m:>5}  {b}")
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
