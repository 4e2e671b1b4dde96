"""Full scores for bench/chord_inference.py: per-beat template matching against the Viterbi-smoothed labels.

(c) **analysed chorales**: the Bach chorales of music21's corpus that carry a Roman-numeral analysis
(bach/choraleAnalyses/riemenschneider*.rntxt, 20 files; 2 name a BWV the corpus does not hold).
The analysis's chord at each beat of the score (measure number and beat on both sides, so pickups
and split bars line up) is the reference; its root and kind come from the Roman numeral's pitch
classes (a kind musicgan lacks scores on the root only). Two corpus scores are a transposition of
the analysed one; the analysis is moved by the interval whose chord pitch classes best correlate
with the score's own pitch classes (no label enters that choice). The per-beat inputs are what
`prepare` gives a full score: all voices, the soprano counting Representation.melody_chord_weight,
and each beat's lowest note as the bass.

(d) **the 350 chorales** of data/chorales: how often the smoothed labels agree with the per-beat ones,
and how often the label changes at a beat that does not start a bar.
"""

import bisect
from pathlib import Path

import numpy as np

from musicgan.harmony import chords

STEPS_PER_QUARTER = 4
ANALYSES = "bach/choraleAnalyses"


def analysis_chord(rn):
    """(chord id, root) of a music21 RomanNumeral; the id is -1 for a kind musicgan lacks."""
    root = rn.root().pitchClass
    intervals = sorted({(pc - root) % 12 for pc in rn.pitchClasses})
    for q, (_, iv) in enumerate(chords.QUALITIES):
        if sorted(iv) == intervals:
            return chords.chord_id(root, q), root
    return -1, root


def analysed_chorale(path, melody_weight):
    """{name, weights (beats, 12), bass (beats,), at_bar (beats,), truth (beats,) chord id (-1: a kind musicgan
    lacks), truth_root (beats,) (-1: before the first mark, not scored)} or a skip reason."""
    from music21 import converter, corpus, roman
    from music21.exceptions21 import CorpusException

    text = Path(path).read_text()
    bwv = next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("BWV:"))
    try:
        score = corpus.parse(f"bach/bwv{bwv}")
    except CorpusException:
        return f"BWV {bwv} is not in music21's corpus"
    parts = score.parts
    measures = list(parts[0].getElementsByClass("Measure"))
    ts = parts[0].recurse().getElementsByClass("TimeSignature")[0]
    beat_q = float(ts.beatDuration.quarterLength)
    steps = round(max(float(m.offset + m.duration.quarterLength) for m in measures) * STEPS_PER_QUARTER)
    w, low = np.zeros((steps, 12)), np.full(steps, 128)
    for i, part in enumerate(parts):
        for n in part.flatten().notes:
            s0 = round(float(n.offset) * STEPS_PER_QUARTER)
            s1 = max(round(float(n.offset + n.quarterLength) * STEPS_PER_QUARTER), s0 + 1)
            for p in n.pitches:
                w[s0:s1, p.pitchClass] += melody_weight if i == 0 else 1.0
                low[s0:s1] = np.minimum(low[s0:s1], p.midi)
    beats = []                                   # (first step, measure number, beat number)
    for m in measures:
        end = float(m.offset + m.duration.quarterLength)
        for b in range(1, ts.beatCount + 1):
            at = float(m.offset) + (b - 1) * beat_q - float(m.paddingLeft)
            if float(m.offset) - 1e-6 <= at < end - 1e-6:
                beats.append((round(at * STEPS_PER_QUARTER), m.number, b))
    analysis = converter.parse(path, format="romanText")
    marks = sorted((r.measureNumber, float(r.beat), analysis_chord(r))
                   for r in analysis.recurse().getElementsByClass(roman.RomanNumeral))
    where = [(mn, b) for mn, b, _ in marks]
    truth = []
    for _, mn, b in beats:
        j = bisect.bisect_right(where, (mn, b + 1e-6)) - 1
        truth.append(marks[j][2] if j >= 0 else (0, -1))
    truth, truth_root = np.array(truth).T
    starts = np.array([s for s, _, _ in beats])
    weights = np.add.reduceat(w, starts, axis=0)
    lowest = np.minimum.reduceat(low, starts)
    shift = _transposition(weights, truth, truth_root)
    return {"name": f"bwv{bwv}", "meter": ts.ratioString, "weights": weights,
            "bass": np.where(lowest < 128, lowest % 12, -1), "at_bar": np.array([b == 1 for _, _, b in beats]),
            "truth": np.where(truth > 0, chords.transpose_ids(np.maximum(truth, 0), shift), truth),
            "truth_root": np.where(truth_root >= 0, (truth_root + shift) % 12, -1), "transposed": shift}


def _transposition(weights, truth, truth_root):
    """Semitones that move the analysis onto the score: its chords' pitch classes against the score's."""
    profile = np.zeros(12)
    for t, r in zip(truth, truth_root):
        if r >= 0:
            profile += chords.TEMPLATES[t] if t > 0 else np.eye(12)[r]
    sounding = weights.sum(0)
    return int(np.argmax([np.corrcoef(np.roll(profile, k), sounding)[0, 1] for k in range(12)]))


def load_analysed(melody_weight):
    from music21 import corpus

    records, skipped = [], {}
    for path in sorted(corpus.getComposer("bach", fileExtensions=("rntxt",))):     # the 20 chorale analyses
        r = analysed_chorale(str(path), melody_weight)
        if isinstance(r, str):
            skipped[Path(path).name] = r
        else:
            records.append(r)
    return records, skipped


def agreement(records, label_fn):
    """{root, root+quality: % of analysed beats, weak-beat changes: % of beats not starting a bar whose
    label differs from the beat before, n}."""
    root, same, changed = [], [], []
    for r in records:
        ids, ok = label_fn(r), r["truth_root"] >= 0
        root.append(chords.ROOTS[ids[ok]] == r["truth_root"][ok])
        same.append(ids[ok] == r["truth"][ok])
        changed.append((ids[1:] != ids[:-1])[~r["at_bar"][1:]])
    pct = lambda a: round(100 * float(np.concatenate(a).mean()), 1)
    return {"root": pct(root), "root+quality": pct(same), "weak-beat changes": pct(changed),
            "n": int(sum(len(a) for a in root))}


def analysis_changes(records):
    """% of the analysed beats not starting a bar where the analysis itself changes chord."""
    changed = [((r["truth"][1:] != r["truth"][:-1]) | (r["truth_root"][1:] != r["truth_root"][:-1]))[~r["at_bar"][1:]]
               for r in records]
    return round(100 * float(np.concatenate(changed).mean()), 1)


def compare(records, ours, theirs):
    """How two labellings of the same beats agree: {root, root+quality: %, changes per bar: (ours, theirs)}."""
    a = np.concatenate([ours(r) for r in records])
    b = np.concatenate([theirs(r) for r in records])
    bars = sum(int(r["at_bar"].sum()) for r in records)
    weak = np.concatenate([~r["at_bar"] for r in records])
    flips = lambda x: round(float(((x[1:] != x[:-1]) & weak[1:]).sum()) / bars, 2)
    return {"root": round(100 * float((chords.ROOTS[a] == chords.ROOTS[b]).mean()), 1),
            "root+quality": round(100 * float((a == b).mean()), 1),
            "weak-beat changes per bar": [flips(a), flips(b)], "beats": len(a)}
