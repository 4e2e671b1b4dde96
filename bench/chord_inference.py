"""How often chords inferred from a melody alone (musicgan.harmony.inference) agree with known chords.

(a) **lead sheets**: every tune in music21's corpus whose melody carries written chord symbols: the
two lead sheets (leadSheet/, MusicXML), the two Nottingham reels (nottingham-dataset/reelsa-c.abc)
and the three tunes of music21's ABC test files that have chords (hectorTheHero, kitchGirl,
williamAndNancy). O'Neill's and Ryan's quoted strings are fingerings and remarks, not chords;
sicutRosa's "A", "B", "C" are part letters. Two repairs to the ABC as written: kitchGirl's first
chord lost its opening quote ('A" -> "A"), and where two symbols stand together ("A7""C", an
alternative) the first is kept. A symbol is read by musicgan's own grammar from its figure
(music21 writes '-' for flat and misreads some, e.g. Bb7), falling back to music21's root and
chordKind only when the grammar refuses it (D/f+). The chord in force at a beat is the last
symbol written at or before it; beats before the first symbol are not scored. A pickup fills the
end of its bar and a bar split at a repeat sign is joined back, as musicgan's corpus export does.

(b) **chorales**: the MIDI files in data/chorales read by musicgan (midi_io.read_song,
data.grid.song_grid / phrases.melody_line): the soprano alone is the melody, and the reference chord of a
beat is `phrases.beat_chords(song.tracks, grid)` over all four voices (weight 1 each). Beats where
no voice sounds are not scored. Bars follow the file's downbeats (meter changes included).

(c) **full scores** (bench/score_chords.py): per-beat recognition and the Viterbi-smoothed labels
(harmony.inference.smooth_chords) against the Roman-numeral analyses of 18 Bach chorales, and
against each other on the 350 chorales.

The **learned HMM** (bench/chord_hmm.py) is scored on (b) in 5-fold cross-validation over whole tune
families (never fitted on a setting of the hymn tune it scores), and on (a) fitted on all chorales or on
the other lead sheets. The soprano is also scored against the smoothed four-voice labels.

Scores: root, and root + quality (the chord id, musicgan's 13 qualities; inference names only the
qualities of its vocabulary, so a written m7 or a recognised sus4 is a quality miss), per beat and
per bar (the chord at the downbeat). An inferred N.C. (a silent span) counts as a miss. Every setting runs
with and without the key prior. "today" (the JSON key) is round 1's labels for a melody-only file:
each beat's melody alone through chords.recognise.

Run from the repository root (one process; music21 parsing is cached in --cache):
    .venv/bin/python bench/chord_inference.py [--data data/chorales] [--out bench/chord_inference.json]
"""

import argparse
import dataclasses
import json
import pickle
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import score_chords
from bench.chord_hmm import ChordHMM, boundary_class
from musicgan.core.config import Representation
from musicgan.data import phrases as encoding
from musicgan.data.grid import song_grid
from musicgan.data.melody import pick_melody
from musicgan.harmony import chords
from musicgan.harmony.inference import (
    DEFAULT,
    InferenceSettings,
    infer_chords,
    melody_weights,
    per_beat,
    smooth_chords,
    span_starts,
)
from musicgan.harmony.progression import ChordError, parse_chord
from musicgan.io import midi as midi_io

KINDS = {"major": "", "minor": "m", "dominant-seventh": "7", "minor-seventh": "m7", "major-seventh": "maj7",
         "diminished": "dim", "augmented": "aug", "suspended-fourth": "sus4", "suspended-second": "sus2",
         "major-sixth": "6", "minor-sixth": "m6", "half-diminished-seventh": "m7b5", "diminished-seventh": "dim7"}
LEAD_SHEETS = ("leadSheet/berlinAlexandersRagtime.mxl", "leadSheet/fosterBrownHair.mxl",
               "nottingham-dataset/reelsa-c.abc")
ABC_TESTS = ("hectorTheHero", "kitchGirl", "williamAndNancy")
STEPS_PER_QUARTER = 4
CACHE_VERSION = 2
REP = Representation()

# The settings kept here, each also run without the key prior; "default" is InferenceSettings(). About
# 40 more were tried while the model was built (a key-scale term on the melody, unnormalised priors,
# metrical weights on the steps: none helped, so they are gone); see the JSON's "notes".
NOTE_SEQ = InferenceSettings(concentration=100.0, primary_weight=1.0, mid_change_prob=0.5, minor_keys=False,
                             qualities=("", "m", "aug", "dim", "7", "maj7", "m7", "m7b5"))
R = dataclasses.replace
NOTES = ("Defaults were chosen on the lead sheets (bar root), the melody-only case they are for; the "
         "chorale numbers of the same settings are reported, not optimised. Tried while building, besides "
         "the settings listed: a key-scale emission on the melody (concentration 5-20), priors not "
         "normalised per key, metrical weights on the grid steps (off-beat 16ths 0.25-0.5), key change "
         "0.02, out-of-key 0.001, and some two dozen combinations of the listed knobs; none beat the "
         "default by more than a few bars out of 173 (one bar is 0.6 points).")
LEARNED_NOTES = ("Tried while building the learned HMM (5-fold, beat root): Viterbi path 49.8 vs forward-backward "
                 "52.9 at emission weight 1 (0.7: 53.9); + dim +0.2, + m7 -0.1; melody weighted to the note at the "
                 "beat +0.3; off-beat 16ths at half weight -0.1; key change 0.01 / 0.0001 within 0.2; smoothing "
                 "0.1 / 2 -0.3; emission per beat class 54.3; neighbouring beats in the emission 54.1; a "
                 "discriminative (softmax) emission over the melody context 51.8 vs 54.0 on fold 0.")
TRIED = {
    "default": DEFAULT,
    "note_seq's values": NOTE_SEQ,
    "primary weight 1 (note_seq's prior)": R(DEFAULT, primary_weight=1.0),
    "primary weight 4": R(DEFAULT, primary_weight=4.0),
    "primary weight 16": R(DEFAULT, primary_weight=16.0),
    "concentration 5": R(DEFAULT, concentration=5.0),
    "concentration 20": R(DEFAULT, concentration=20.0),
    "concentration 100": R(DEFAULT, concentration=100.0),
    "bar-line change 0.3": R(DEFAULT, bar_change_prob=0.3),
    "bar-line change 0.5": R(DEFAULT, bar_change_prob=0.5),
    "mid-bar change 0.05": R(DEFAULT, mid_change_prob=0.05),
    "mid-bar change 0.5": R(DEFAULT, mid_change_prob=0.5),
    "span bar": R(DEFAULT, span="bar"),
    "span beat": R(DEFAULT, span="beat"),
    "span beat, changes 0.8 / 0.5, pw 4": R(DEFAULT, span="beat", bar_change_prob=0.8, mid_change_prob=0.5,
                                             primary_weight=4.0),
    "major keys only": R(DEFAULT, minor_keys=False),
    "out-of-key 0.1": R(DEFAULT, out_of_key_prob=0.1),
    "triads (maj, min)": R(DEFAULT, qualities=("", "m")),
    "+ m7": R(DEFAULT, qualities=("", "m", "7", "m7")),
    "+ dim": R(DEFAULT, qualities=("", "m", "7", "dim")),
}


# ----------------------------------------------------------------------------- (a) lead sheets

def symbol_id(cs):
    """(chord id, how) of a music21 ChordSymbol: musicgan's grammar on its figure, else music21's reading."""
    figure = re.sub(r"^([A-Ga-g])-", r"\1b", cs.figure.strip())
    try:
        return parse_chord(figure).id, "grammar"
    except ChordError:
        kind = KINDS.get(cs.chordKind)
        if kind is None:
            return -1, f"unreadable {cs.figure!r}"
        return chords.chord_id(cs.root().pitchClass, [q for q, _ in chords.QUALITIES].index(kind)), "music21"


def tune_record(name, part):
    """One tune as {name, bar_steps, bar_beats, weights (steps, 12), truth (beats,)} or a skip reason."""
    from music21 import harmony

    sigs = {m.timeSignature.ratioString for m in part.getElementsByClass("Measure") if m.timeSignature}
    if len(sigs) != 1:
        return f"meter changes or none ({sorted(sigs)})"
    ts = next(m.timeSignature for m in part.getElementsByClass("Measure") if m.timeSignature)
    bar_q, beats = float(ts.barDuration.quarterLength), ts.beatCount
    notes, symbols, how = [], [], []          # (start q, end q, pitches), (q, id)
    bar, fill = -1, bar_q
    for i, m in enumerate(part.getElementsByClass("Measure")):
        length = float(m.duration.quarterLength)
        if i == 0 and length < bar_q:                                   # a pickup ends its bar
            bar, shift = 0, bar_q - length
        elif fill < bar_q - 1e-6 and fill + length <= bar_q + 1e-6:     # the rest of a split bar
            shift = fill
        else:
            bar, shift = bar + 1, 0.0
        fill = shift + length
        at = bar * bar_q + shift
        for el in m.recurse().notes:
            if isinstance(el, harmony.ChordSymbol) or el.duration.isGrace or el.quarterLength <= 0:
                continue
            q = at + float(el.getOffsetInHierarchy(m))
            notes.append((q, q + float(el.quarterLength), [p.midi for p in el.pitches]))
        for cs in m.recurse().getElementsByClass(harmony.ChordSymbol):
            cid, h = symbol_id(cs)
            how.append(h)
            if cid >= 0:
                symbols.append((at + float(cs.getOffsetInHierarchy(m)), cid))
    n_bars = bar + 1
    steps_per_bar = round(bar_q * STEPS_PER_QUARTER)
    weights = np.zeros((n_bars * steps_per_bar, 12), np.float32)
    for q0, q1, pitches in notes:
        s0, s1 = round(q0 * STEPS_PER_QUARTER), max(round(q1 * STEPS_PER_QUARTER), round(q0 * STEPS_PER_QUARTER) + 1)
        for p in pitches:
            weights[s0:s1, p % 12] += 1
    symbols.sort(key=lambda x: x[0])
    times = np.array([q for q, _ in symbols])
    beat_q = np.arange(n_bars * beats) * bar_q / beats
    last = np.searchsorted(times, beat_q + 1e-6, side="right") - 1
    truth = np.where(last >= 0, np.array([c for _, c in symbols])[np.maximum(last, 0)], -1)
    return {"name": name, "bar_steps": np.full(n_bars, steps_per_bar), "bar_beats": np.full(n_bars, beats),
            "weights": weights, "truth": truth, "meter": ts.ratioString, "symbols": len(how),
            "symbols_by_music21": how.count("music21"), "unreadable": [h for h in how if h.startswith("unreadable")]}


def load_lead_sheets():
    from music21 import converter, corpus
    from music21.abcFormat import testFiles

    scores = []
    for path in LEAD_SHEETS:
        parsed = corpus.parse(path)
        for s in getattr(parsed, "scores", [parsed]):
            scores.append((f"{path.split('/')[0]}: {s.metadata.title or Path(path).stem}", s))
    for name in ABC_TESTS:
        text = getattr(testFiles, name).replace("'A\"[c2", "\"A\"[c2")      # kitchGirl's lost quote
        text = re.sub(r'("[^"\n]*")"[^"\n]*"', r"\1", text)                 # "A7""C": keep the first
        scores.append((f"abc test: {name}", converter.parse(text, format="abc")))
    records, skipped = [], {}
    for name, s in scores:
        part = s.parts[0] if s.parts else s
        r = tune_record(name, part)
        if isinstance(r, str):
            skipped[name] = r
        else:
            records.append(r)
    return records, skipped


# ----------------------------------------------------------------------------- (b) chorales

def chorale_record(path):
    """The soprano's weights, bars from the file's downbeats, and the four voices' chord per beat."""
    song = midi_io.read_song(path)
    grid = song_grid(song)
    soprano, _ = pick_melody(song.tracks)
    pitch, _ = encoding.melody_line(song.tracks[soprano], grid)
    truth = encoding.beat_chords(song.tracks, grid)
    edges = np.unique(np.concatenate([[0], grid.bar_starts, [grid.steps]]))      # a pickup is a bar of its own
    bar_beats = np.diff(np.searchsorted(grid.beat_starts, edges))
    # what prepare reads from the full score: all voices, the soprano counting melody_chord_weight
    weight, low = encoding.step_pitch_classes(song.tracks, grid, [REP.melody_chord_weight if i == soprano else 1.0
                                                                  for i in range(len(song.tracks))])
    lowest = np.minimum.reduceat(low, grid.beat_starts)
    full = {"weights": np.add.reduceat(weight, grid.beat_starts, axis=0), "bass": np.where(lowest < 128, lowest % 12, -1),
            "at_bar": np.isin(grid.beat_starts, grid.bar_starts)}
    return {"name": Path(path).stem, "bar_steps": np.diff(edges), "bar_beats": bar_beats,
            "weights": melody_weights(pitch), "truth": np.where(truth > 0, truth, -1), "meter": None, "full": full}


def load_chorales(folder):
    records, skipped = [], {}
    for path in sorted(Path(folder).glob("*.mid")):
        try:
            records.append(chorale_record(path))
        except midi_io.MidiError as e:
            skipped[path.name] = str(e)
    return records, skipped


# ----------------------------------------------------------------------------- scoring

def infer_beats(r, settings):
    starts, at_bar, beats = span_starts(r["bar_steps"], r["bar_beats"], settings.span)
    return per_beat(infer_chords(r["weights"], starts, at_bar, settings), beats)


def today_beats(r):
    """musicgan's current labels for a melody-only file: each beat's own notes through recognise()."""
    starts, _, _ = span_starts(r["bar_steps"], r["bar_beats"], "beat")
    return chords.recognise(np.add.reduceat(r["weights"], starts, axis=0))


def score(records, beat_fn):
    """{per beat / per bar: {root, root+quality: pct}, n} over the scored beats of all records."""
    hits = {"beat": [[], []], "bar": [[], []]}
    for r in records:
        ours, truth = beat_fn(r), r["truth"]
        downbeat = np.zeros(len(truth), bool)
        downbeat[np.cumsum(r["bar_beats"]) - r["bar_beats"]] = True
        ok = truth >= 0
        for unit, mask in (("beat", ok), ("bar", ok & downbeat)):
            hits[unit][0].append(chords.ROOTS[ours[mask]] == chords.ROOTS[truth[mask]])
            hits[unit][1].append(ours[mask] == truth[mask])
    out = {}
    for unit, (root, same) in hits.items():
        root, same = np.concatenate(root), np.concatenate(same)
        out[unit] = {"root": round(100 * root.mean(), 1), "root+quality": round(100 * same.mean(), 1), "n": len(root)}
    return out


# ----------------------------------------------------------------------------- the learned HMM (bench/chord_hmm.py)

FOLDS = 5
FAMILY_INTERVALS = 16     # chorales whose sopranos share a run of this many intervals are one hymn tune


def tune_families(records, n=FAMILY_INTERVALS):
    """(records,) a label per tune family: records whose melodies share an n-interval run (Bach's
    several settings of one hymn tune), so that cross-validation never trains on a setting of the tune it scores."""
    parent = list(range(len(records)))

    def root(i):
        while parent[i] != i:
            i = parent[i]
        return i

    seen = {}
    for i, r in enumerate(records):
        w = r["weights"]
        line = w.argmax(1)[w.sum(1) > 0]
        line = line[np.append(True, line[1:] != line[:-1])]
        steps = tuple(((np.diff(line) + 6) % 12 - 6).tolist())
        for j in range(len(steps) - n + 1):
            a, b = root(i), root(seen.setdefault(steps[j:j + n], i))
            parent[max(a, b)] = min(a, b)
    return np.array([root(i) for i in range(len(records))])


def family_folds(records):
    """(records,) the cross-validation fold of each record: whole tune families dealt to FOLDS folds (seed 0)."""
    fam = tune_families(records)
    ufam = np.unique(fam)
    fold_of = dict(zip(ufam, np.random.default_rng(0).permutation(len(ufam)) % FOLDS))
    return np.array([fold_of[f] for f in fam])


def hmm_piece(r, span):
    """(chord ids at span starts, boundary class, melody x (spans, 12) summing to 1), spans of `span`,
    and beats per span; the chords only where scored."""
    starts, at_bar, beats = span_starts(r["bar_steps"], r["bar_beats"], span)
    bar_beats = np.repeat(r["bar_beats"], np.diff(np.append(np.flatnonzero(at_bar), len(at_bar))))   # (spans,)
    x = np.add.reduceat(r["weights"].astype(np.float64), starts, axis=0)
    x /= np.maximum(x.sum(1, keepdims=True), 1e-12)
    truth = r["truth"][np.cumsum(beats) - beats]
    return truth, boundary_class(at_bar, beats, bar_beats), x, beats


def fit_hmm(records, span, **kw):
    pieces = []
    for r in records:
        truth, cls, x, _ = hmm_piece(r, span)
        ok = truth > 0
        pieces.append((truth[ok], cls[ok], x[ok]))
    return ChordHMM(**kw).fit(pieces)


def hmm_beats(model, r, span):
    _, cls, x, beats = hmm_piece(r, span)
    return per_beat(model.labels(x, cls), beats)


def learned_results(sets, span="beat", **kw):
    """The learned HMM, with and without its key prior: chorales cross-validated over FOLDS folds of whole
    tune families; lead sheets (a) from a model fitted on all chorales, (b) leave one tune out."""
    chor, lead = sets["chorales"], sets["lead sheets"]
    fam = tune_families(chor)
    fold = family_folds(chor)
    out = {"with": {}, "without": {}}
    labels = {"with": {}, "without": {}}
    for f in range(FOLDS):
        m = fit_hmm([r for r, g in zip(chor, fold) if g != f], span, **kw)
        for prior, model in (("with", m), ("without", m.without_keys())):
            for i in np.flatnonzero(fold == f):
                labels[prior][chor[i]["name"]] = hmm_beats(model, chor[i], span)
    m = fit_hmm(chor, span, **kw)
    loo = [fit_hmm([q for j, q in enumerate(lead) if j != i], "half", **kw) for i in range(len(lead))]
    for prior, res in out.items():
        flat = prior == "without"
        res["chorales"] = score(chor, lambda r, p=prior: labels[p][r["name"]])
        whole = m.without_keys() if flat else m
        res["lead sheets, fitted on the chorales"] = score(lead, lambda r, mo=whole: hmm_beats(mo, r, span))
        by_name = {r["name"]: hmm_beats(mi.without_keys() if flat else mi, r, "half") for r, mi in zip(lead, loo)}
        res["lead sheets, leave one tune out (half-bar spans)"] = score(lead, lambda r, b=by_name: b[r["name"]])
    return out, {"families": len(np.unique(fam)), "largest family": int(np.bincount(fam).max()), "folds": FOLDS}


# ----------------------------------------------------------------------------- full scores (bench/score_chords.py)

SCORE_TRIED = {
    "default (Representation.score_inference)": REP.score_inference,
    "concentration 10": R(REP.score_inference, concentration=10.0),
    "concentration 40": R(REP.score_inference, concentration=40.0),
    "changes 0.8 / 0.5": R(REP.score_inference, bar_change_prob=0.8, mid_change_prob=0.5),
    "changes 0.95 / 0.85": R(REP.score_inference, bar_change_prob=0.95, mid_change_prob=0.85),
    "kinds of the chorales (no aug, sus2, 6, m6)": R(REP.score_inference,
                                                     qualities=("", "m", "7", "dim", "m7", "sus4", "dim7", "m7b5", "maj7")),
}


def full_score_results(analysed, chorales):
    """(c) per beat vs smoothed against the analyses, each setting with and without the key prior, and the
    default on the two halves of the analysed set; (d) smoothed vs per beat on the 350 chorales."""
    per_beat_fn = lambda r: chords.recognise(r["weights"], r["bass"])

    def smoothed(st):
        return lambda r: smooth_chords(r["weights"], r["bass"], r["at_bar"], st)

    out = {"analysed": {"per beat (recognise)": score_chords.agreement(analysed, per_beat_fn)},
           "analysis's own weak-beat changes": score_chords.analysis_changes(analysed)}
    for name, st in SCORE_TRIED.items():
        for prior in (True, False):
            out["analysed"][f"{name}, {'with' if prior else 'without'} key prior"] = score_chords.agreement(
                analysed, smoothed(R(st, key_prior=prior)))
    out["analysed halves (odd, even files)"] = {
        label: [score_chords.agreement(analysed[h::2], fn)["root"] for h in (0, 1)]
        for label, fn in (("per beat", per_beat_fn), ("smoothed", smoothed(REP.score_inference)))}
    full = [r["full"] for r in chorales]
    out["chorales: smoothed vs per beat"] = score_chords.compare(full, smoothed(REP.score_inference), per_beat_fn)
    for name, fn in (("per beat", per_beat_fn), ("smoothed", smoothed(REP.score_inference))):
        ids = np.concatenate([fn(r) for r in full])
        kinds = np.bincount([0 if c == 0 else 1 + (c - 1) % chords.NUM_QUALITIES for c in ids],
                            minlength=1 + chords.NUM_QUALITIES)
        out[f"chorales: kinds, {name} (%)"] = {n: round(100 * float(k) / len(ids), 1) for n, k in
                                               zip(("N.C.",) + chords.QUALITY_NAMES, kinds) if k}
    return out


def speed(records, settings, repeat=3):
    """Tunes a minute on one core (best of `repeat` passes over `records`; CPU time of this process)."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.process_time()
        for r in records:
            infer_beats(r, settings)
        best = min(best, time.process_time() - t0)
    return round(60 * len(records) / best)


def table(results, sets):
    head = f"{'setting':<36} {'key prior':<9} " + " ".join(f"{s + ', ' + u:>20}" for s in sets for u in ("bar", "beat"))
    lines = [head, f"{'':<46}" + " ".join(f"{'root / +quality':>20}" for _ in sets for _ in (0, 1))]
    for name, by_prior in results.items():
        for prior, res in by_prior.items():
            cells = [f"{res[s][u]['root']:5.1f} / {res[s][u]['root+quality']:5.1f}"
                     for s in sets for u in ("bar", "beat")]
            lines.append(f"{name:<36} {prior:<9} " + " ".join(f"{c:>20}" for c in cells))
    ns = "  ".join(f"{s}: {results['today']['-'][s]['bar']['n']} bars, {results['today']['-'][s]['beat']['n']} beats"
                   for s in sets)
    return "\n".join(lines + [f"n: {ns}"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="data/chorales", help="folder of chorale MIDI files")
    ap.add_argument("--cache", default="/tmp/musicgan_chord_inference.pkl", help="parsed corpora (delete to re-parse)")
    ap.add_argument("--out", default=str(Path(__file__).with_suffix(".json")), help="JSON results file")
    args = ap.parse_args()

    t0 = time.perf_counter()
    cache = Path(args.cache)
    data = pickle.loads(cache.read_bytes()) if cache.is_file() else None
    if not data or data.get("version") != CACHE_VERSION or data.get("folder") != str(Path(args.data).resolve()):
        lead, lead_skipped = load_lead_sheets()
        chor, chor_skipped = load_chorales(args.data)
        analysed, analysed_skipped = score_chords.load_analysed(REP.melody_chord_weight)
        data = {"version": CACHE_VERSION, "folder": str(Path(args.data).resolve()),
                "sets": {"lead sheets": lead, "chorales": chor}, "analysed": analysed,
                "skipped": {"lead sheets": lead_skipped, "chorales": chor_skipped, "analysed": analysed_skipped}}
        cache.write_bytes(pickle.dumps(data))
    sets = data["sets"]
    t_load = time.perf_counter() - t0

    results = {"today": {"-": {s: score(recs, today_beats) for s, recs in sets.items()}}}
    for name, settings in TRIED.items():
        results[name] = {}
        for prior in (True, False):
            st = dataclasses.replace(settings, key_prior=prior)
            results[name]["with" if prior else "without"] = {s: score(recs, lambda r, st=st: infer_beats(r, st))
                                                            for s, recs in sets.items()}
    per_minute = {s: speed(recs, DEFAULT) for s, recs in sets.items()}
    lead = sets["lead sheets"]
    per_tune = {r["name"]: score([r], lambda r: infer_beats(r, DEFAULT))["bar"] for r in lead}
    best = {f"{s}, {unit} root": max(((name, prior) for name in TRIED for prior in ("with", "without")),
                                     key=lambda np_: results[np_[0]][np_[1]][s][unit]["root"])
            for s in sets for unit in ("bar", "beat")}
    print(table(results, list(sets)))
    print("\ndefault, lead sheets per tune (bar root, n bars): " +
          "; ".join(f"{k} {v['root']:.0f}% of {v['n']}" for k, v in per_tune.items()))
    print("best of the settings above: " + "; ".join(f"{k}: {n} ({p} key prior)" for k, (n, p) in best.items()))
    print("inference speed, default settings, one core: " +
          ", ".join(f"{s} {v} tunes/minute" for s, v in per_minute.items()))
    learned, folds = learned_results(sets)
    print(f"\nlearned HMM (bench/chord_hmm.py; chorales: {folds['folds']} folds of {folds['families']} tune families)")
    for prior, res in learned.items():
        for name, r in res.items():
            print(f"  {prior} key prior, {name:<50} bar {r['bar']['root']:5.1f} / {r['bar']['root+quality']:5.1f}"
                  f"   beat {r['beat']['root']:5.1f} / {r['beat']['root+quality']:5.1f}")
    # the same soprano against the labels prepare now gives the full chorale (smoothed, soprano at half weight)
    smooth_truth = [r | {"truth": np.where(t > 0, t, -1)} for r in sets["chorales"]
                    for t in [smooth_chords(r["full"]["weights"], r["full"]["bass"], r["full"]["at_bar"],
                                            REP.score_inference)]]
    learned_smooth, _ = learned_results({"chorales": smooth_truth, "lead sheets": lead})
    against_smoothed = {"learned HMM, with key prior": learned_smooth["with"]["chorales"],
                        "learned HMM, without key prior": learned_smooth["without"]["chorales"]}
    for name in ("default", "span beat, changes 0.8 / 0.5, pw 4"):
        for prior in (True, False):
            st = R(TRIED[name], key_prior=prior)
            against_smoothed[f"{name}, {'with' if prior else 'without'} key prior"] = score(
                smooth_truth, lambda r, st=st: infer_beats(r, st))
    print("\nchorale soprano against the smoothed four-voice labels:")
    for name, r in against_smoothed.items():
        print(f"  {name:<50} bar {r['bar']['root']:5.1f} / {r['bar']['root+quality']:5.1f}"
              f"   beat {r['beat']['root']:5.1f} / {r['beat']['root+quality']:5.1f}")
    full = full_score_results(data["analysed"], sets["chorales"])
    print(f"\nfull scores: {len(data['analysed'])} analysed chorales "
          f"(the analysis changes chord on {full['analysis' + chr(39) + 's own weak-beat changes']}% of weak beats)")
    for name, r in full["analysed"].items():
        print(f"  {name:<62} root {r['root']:5.1f}  +quality {r['root+quality']:5.1f}  "
              f"weak-beat changes {r['weak-beat changes']:5.1f}%  (n {r['n']})")
    for key in [k for k in full if k.startswith(("chorales", "analysed halves"))]:
        print(f"  {key}: {full[key]}")
    out = {
        "command": "python bench/chord_inference.py",
        "defaults": dataclasses.asdict(DEFAULT),
        "settings_tried": {k: dataclasses.asdict(v) for k, v in TRIED.items()},
        "runs": 2 * len(TRIED), "results": results, "tunes_per_minute_one_core": per_minute,
        "lead_sheets_per_tune_default": per_tune, "best": {k: list(v) for k, v in best.items()},
        "notes": NOTES,
        "lead_sheets": [{k: r[k] for k in ("name", "meter", "symbols", "symbols_by_music21", "unreadable")} |
                        {"bars": len(r["bar_steps"]), "scored_beats": int((r["truth"] >= 0).sum())} for r in lead],
        "chorales": {"files": len(sets["chorales"]), "bars": int(sum(len(r["bar_beats"]) for r in sets["chorales"]))},
        "learned_hmm": {"results": learned, "cross-validation": folds, "notes": LEARNED_NOTES,
                        "settings": {"qualities": ["", "m", "7", "dim"], "alpha": 0.5, "gamma": 0.7,
                                     "key_change_prob": 0.001, "iters": 2, "span": "beat"}},
        "chorales_against_smoothed_labels": against_smoothed,
        "full_scores": full | {"settings_tried": {k: dataclasses.asdict(v) for k, v in SCORE_TRIED.items()},
                               "analysed": full["analysed"],
                               "analysed_files": [{k: r[k] for k in ("name", "meter", "transposed")} |
                                                  {"beats": len(r["truth"])} for r in data["analysed"]]},
        "skipped": data["skipped"], "seconds": {"load": round(t_load, 1), "total": round(time.perf_counter() - t0, 1)},
    }
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out} ({out['seconds']['total']:.0f} s)")


if __name__ == "__main__":
    main()
