"""Chord roots from a chorale's soprano alone by a bidirectional GRU tagger, against the learned HMM (issue 16, 1b).

Measures (b) of bench/chord_inference.py with its records, scoring and 5-fold split by tune family: the
soprano alone against the chord recognised per beat from all four voices, and against the smoothed
labels `prepare` gives a full score (a tagger is trained for each). Root and root + quality, per beat
and per bar (the chord at the downbeat). Nothing is fitted on the fold it scores.

The tagger reads a chorale as a sequence of beats. Per beat (FEATURES): the soprano's duration-weighted
pitch classes, the pitch class at the onset, whether a note starts there, the length of the note sounding
there and whether a rest follows it (the MIDI files carry no fermatas; a long note or a rest is the
phrase end), bar line, beat in the bar and the meter's beats. The pitch classes are either rotated to
the key found from the soprano alone (Krumhansl-Kessler) or left as they are and trained with a random
transposition per chorale per epoch, then averaged over the 12 transpositions when tagging ("augment").
Output: a softmax over the 156 chord ids (12 roots x 13 qualities); a beat gets the root of highest summed
probability, then the likeliest quality on it, as the HMM decodes. The ensemble multiplies the tagger's
root posterior with the learned HMM's (forward-backward, the 53.9% model) raised to a weight.

What is chosen, on an inner split of each fold's training tunes only (a fifth of its families held out):
the number of epochs (8 to 80, every 8) and then the ensemble weight; the tagger is then refitted on the
whole training part for that many epochs. The key handling was chosen once, on fold 0's inner split in a
first run ("soprano"; KEYS can hold both again). The architecture (Dense 64 -> 2 x BiGRU 64 -> softmax, dropout 0.3,
Adam 2e-3, batches of 16) was fixed before any score was seen.

Run from the repository root (one core; about 25 minutes):
    PYTHONPATH=. .venv/bin/python -m bench.chord_tagger [--data data/chorales] [--out bench/chord_tagger.json]
Averaging 3 taggers a fold under the same choices (no new choosing; about 15 minutes per label set):
    PYTHONPATH=. .venv/bin/python -m bench.chord_tagger --seeds 3 --picks bench/chord_tagger.json \
        --out bench/chord_tagger_seeds.json
"""

import os

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse
import json
import pickle
import time
from pathlib import Path

import numpy as np

from bench.chord_hmm import KK_MAJOR, KK_MINOR, ROTATE
from bench.chord_inference import (
    FOLDS,
    REP,
    family_folds,
    fit_hmm,
    hmm_beats,
    hmm_piece,
    load_chorales,
    score,
)
from musicgan.harmony import chords
from musicgan.harmony.inference import smooth_chords

NQ = chords.NUM_QUALITIES
N_CLASSES = 12 * NQ                     # chord ids 1.. minus one; N.C. is never a target (unscored)
KEYS = ("soprano",)             # "augment" lost on fold 0's inner split (first run)
MAX_EPOCHS = 80                 # the first run's 40 was the inner pick on fold 0: the edge
EVAL_EVERY = 8
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0)    # ensemble: log p_tagger + w log p_hmm
UNITS, DROPOUT, LR, BATCH = 64, 0.3, 2e-3, 16
INNER_SEED = 1


# ----------------------------------------------------------------------------- features

def soprano_key(weights):
    """(tonic, minor) of the soprano alone: Krumhansl-Kessler correlation of its pitch-class durations."""
    profile = weights.sum(0)
    corr = [np.corrcoef(profile, np.roll(p, t))[0, 1] for p in (KK_MAJOR, KK_MINOR) for t in range(12)]
    k = int(np.nanargmax(corr))
    return k % 12, k // 12


def beat_features(r):
    """(beats, 24) pitch-class features (duration weights, onset) and (beats, 16) the rest."""
    _, cls, x, _ = hmm_piece(r, "beat")
    w = r["weights"]
    n_steps = len(w)
    pc = np.where(w.sum(1) > 0, w.argmax(1), -1)                              # (steps,)
    starts = np.cumsum(np.append(0, np.repeat(r["bar_steps"] // r["bar_beats"], r["bar_beats"])))[:-1]
    per_beat = r["bar_steps"] // r["bar_beats"]
    beat_len = np.repeat(per_beat, r["bar_beats"])
    new = np.append(True, pc[1:] != pc[:-1])                                  # a note or rest begins
    run = np.cumsum(new) - 1
    run_len = np.bincount(run)
    run_start = np.flatnonzero(new)
    at = pc[starts]
    onset = np.zeros((len(starts), 12))
    onset[at >= 0, at[at >= 0]] = 1
    sounding = run_len[run[starts]] / beat_len                                  # the note's length in beats
    after = run_start[run[starts]] + run_len[run[starts]]                       # the step after that note
    rest_after = (after >= n_steps) | (pc[np.minimum(after, n_steps - 1)] < 0)
    bar_beats = np.repeat(r["bar_beats"], r["bar_beats"])
    beat_in_bar = np.concatenate([np.arange(b) for b in r["bar_beats"]])
    other = np.column_stack([
        np.ones(len(starts)),                                                   # never all zero: padding is
        at < 0,                                                                 # silent at the beat
        (new[starts] & (at >= 0)),                                              # a note starts on the beat
        np.log2(1 + sounding) * (at >= 0),
        rest_after & (at >= 0),
        np.eye(3)[cls],                                                         # bar line, mid-bar, other
        np.eye(4)[np.minimum(beat_in_bar, 3)],
        np.eye(3)[np.clip(bar_beats - 2, 0, 2)],                                # 2, 3, 4+ beats a bar
        np.arange(len(starts))[::-1] == 0,                                      # the last beat
        np.minimum(np.arange(len(starts))[::-1], 8) / 8,                        # beats to the end
    ]).astype(np.float32)
    return np.concatenate([x, onset], 1).astype(np.float32), other


def rotate_pcs(pcs, t):
    """Transpose (beats, 24) pitch-class features up t semitones."""
    return np.concatenate([np.roll(pcs[:, :12], t, 1), np.roll(pcs[:, 12:], t, 1)], 1)


def rotate_targets(y, t):
    """Chord classes (id - 1) up t semitones; -1 (unscored) stays."""
    root, q = np.divmod(np.maximum(y, 0), NQ)
    return np.where(y >= 0, ((root + t) % 12) * NQ + q, -1)


def tagger_inputs(r, key):
    """(beats, F) inputs in the frame the tagger sees and the semitones that frame lies below the tune."""
    pcs, other = r["features"]
    if key == "augment":
        return np.concatenate([pcs, other], 1), 0
    tonic, minor = soprano_key(r["weights"])
    mode = np.tile(np.eye(2, dtype=np.float32)[minor], (len(pcs), 1))
    return np.concatenate([rotate_pcs(pcs, -tonic), other, mode], 1), tonic


# ----------------------------------------------------------------------------- the model

def get_tagger(n_features):
    """Beats (batch, beats, F) -> chord logits (batch, beats, 156); all-zero rows are padding."""
    import keras
    from keras import layers

    beats = keras.Input((None, n_features), name="beats")
    x = layers.Masking(0.0)(beats)
    x = layers.Dense(UNITS, activation="relu")(x)
    x = layers.Dropout(DROPOUT)(x)
    for _ in range(2):
        x = layers.Bidirectional(layers.GRU(UNITS, return_sequences=True))(x)
        x = layers.Dropout(DROPOUT)(x)
    return keras.Model(beats, layers.Dense(N_CLASSES)(x), name="chord_tagger")


def masked_crossentropy(y, logits):
    """Mean over scored beats of -log softmax(logits)[y]; y = -1 marks beats that are not scored or padding."""
    import tensorflow as tf

    w = tf.cast(y >= 0, tf.float32)
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.maximum(y, 0), logits)
    return tf.reduce_sum(w * ce) / tf.maximum(tf.reduce_sum(w), 1.0)


def batches(seqs, targets, rng):
    """Length-sorted batches of BATCH, padded to a multiple of 16 beats: (x (b, T, F), y (b, T))."""
    order = np.argsort([len(s) for s in seqs] + rng.random(len(seqs)) * 0.5)
    groups = [order[i:i + BATCH] for i in range(0, len(order), BATCH)]
    rng.shuffle(groups)
    for g in groups:
        T = -(-max(len(seqs[i]) for i in g) // 16) * 16
        x = np.zeros((len(g), T, seqs[g[0]].shape[1]), np.float32)
        y = np.full((len(g), T), -1, np.int32)
        for j, i in enumerate(g):
            x[j, :len(seqs[i])], y[j, :len(seqs[i])] = seqs[i], targets[i]
        yield x, y


class Tagger:
    def __init__(self, key, seed):
        import keras
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        keras.utils.set_random_seed(seed)
        self.key, self.rng, self.model = key, np.random.default_rng(seed), None

    def _setup(self, n_features):
        import keras
        import tensorflow as tf

        self.model = get_tagger(n_features)
        self.opt = keras.optimizers.Adam(LR, clipnorm=1.0)

        @tf.function(reduce_retracing=True)
        def train_step(x, y):
            with tf.GradientTape() as tape:
                loss = masked_crossentropy(y, self.model(x, training=True))
            grads = tape.gradient(loss, self.model.trainable_variables)
            self.opt.apply_gradients(zip(grads, self.model.trainable_variables))
            return loss

        self.train_step = train_step
        self.predict = tf.function(lambda x: tf.nn.softmax(self.model(x, training=False)), reduce_retracing=True)

    def fit(self, records, truth_key, epochs, every=None, watch=None):
        """Train `epochs` epochs; every `every` epochs call watch(epoch) (for the inner split's curve)."""
        inputs = [tagger_inputs(r, self.key) for r in records]
        targets = [rotate_targets(np.where(r[truth_key] > 0, r[truth_key] - 1, -1), -t) for r, (_, t) in
                   zip(records, inputs)]
        seqs = [x for x, _ in inputs]
        if self.model is None:
            self._setup(seqs[0].shape[1])
        for epoch in range(1, epochs + 1):
            if self.key == "augment":
                shift = self.rng.integers(12, size=len(seqs))
                ep_seqs = [np.concatenate([rotate_pcs(s[:, :24], t), s[:, 24:]], 1) for s, t in zip(seqs, shift)]
                ep_targets = [rotate_targets(y, t) for y, t in zip(targets, shift)]
            else:
                ep_seqs, ep_targets = seqs, targets
            for x, y in batches(ep_seqs, ep_targets, self.rng):
                self.train_step(x, y)
            if every and epoch % every == 0:
                watch(epoch)
        return self

    def chord_probs(self, r):
        """(beats, 156) chord posteriors in the tune's own key (averaged over 12 transpositions for 'augment')."""
        x, tonic = tagger_inputs(r, self.key)
        shifts = range(12) if self.key == "augment" else [0]
        stack = np.stack([np.concatenate([rotate_pcs(x[:, :24], t), x[:, 24:]], 1) for t in shifts])
        p = self.predict(stack).numpy()                                         # (shifts, beats, 156)
        back = [p[i].reshape(-1, 12, NQ)[:, (np.arange(12) + t - tonic) % 12] for i, t in enumerate(shifts)]
        return np.mean(back, 0)                                                 # (beats, 12, NQ)


# ----------------------------------------------------------------------------- decoding and the HMM

def hmm_root_probs(model, r):
    """(beats, 12) the learned HMM's forward-backward posterior of each root (uniform on silent beats)."""
    _, cls, x, _ = hmm_piece(r, "beat")
    voiced = x.sum(1) > 0
    e = model.gamma * np.concatenate([x[:, ROTATE] @ model.log_emit[m].T for m in (0, 1)], 1)   # (T, 24, R)
    e[~voiced] = 0
    post = model._posterior(np.exp(e - e.max((1, 2), keepdims=True)), cls)
    roots = chords.ROOTS[model.ids]                                             # (24, R)
    p = np.zeros((len(x), 12))
    for k in range(24):
        np.add.at(p.T, roots[k], post[:, k].T)
    p[~voiced] = 1 / 12
    return p


def decode(tag, hmm=None, weight=0.0):
    """Chord ids per beat: the root of highest tagger x HMM^weight, then the tagger's likeliest quality on it."""
    logp = np.log(tag.sum(2) + 1e-12)
    if hmm is not None and weight:
        logp = logp + weight * np.log(hmm + 1e-12)
    root = logp.argmax(1)
    kind = tag[np.arange(len(tag)), root].argmax(1)
    return 1 + root * NQ + kind


def scored(records, labels):
    return score(records, lambda r: labels[r["name"]])


# ----------------------------------------------------------------------------- cross-validation

def select(train, truth_key, seed):
    """On an inner split of `train` (a fifth of its families held out): the key handling and epochs of the
    tagger's best inner root accuracy per beat, then the ensemble weight at those; and the curve."""
    inner = family_folds(train) == INNER_SEED
    fit_part, val = [r for r, v in zip(train, inner) if not v], [r for r, v in zip(train, inner) if v]
    val_truth = [r | {"truth": r[truth_key]} for r in val]
    hmm = fit_hmm([r | {"truth": r[truth_key]} for r in fit_part], "beat")
    hmm_p = {r["name"]: hmm_root_probs(hmm, r) for r in val}
    curve = {}
    for key in KEYS:
        tagger = Tagger(key, seed)

        def watch(epoch, tagger=tagger, key=key):
            probs = {r["name"]: tagger.chord_probs(r) for r in val}
            for w in WEIGHTS:
                labels = {n: decode(p, hmm_p[n], w) for n, p in probs.items()}
                curve[(key, epoch, w)] = scored(val_truth, labels)["beat"]["root"]

        tagger.fit(fit_part, truth_key, MAX_EPOCHS, EVAL_EVERY, watch)
    key, epochs, _ = max((k for k in curve if k[2] == 0.0), key=curve.get)
    weight = max(WEIGHTS, key=lambda w: curve[(key, epochs, w)])
    hmm_alone = scored(val_truth, {r["name"]: hmm_beats(hmm, r, "beat") for r in val})["beat"]["root"]
    return {"key": key, "epochs": epochs, "weight": weight, "inner tagger": curve[(key, epochs, 0.0)],
            "inner ensemble": curve[(key, epochs, weight)], "inner HMM": hmm_alone,
            "curve": {f"{k} {e} {w}": v for (k, e, w), v in sorted(curve.items())}}


def cross_validate(chor, truth_key, log, picks=None, seeds=1):
    """Out-of-fold labels of the tagger alone, the HMM alone and the ensemble, and each fold's choices
    (made here on inner splits, or given: an earlier run's); the tagger's posteriors are averaged over `seeds`."""
    fold = family_folds(chor)
    labels = {"tagger": {}, "learned HMM": {}, "tagger x HMM": {}}
    choices = []
    for f in range(FOLDS):
        t0 = time.perf_counter()
        train, test = [r for r, g in zip(chor, fold) if g != f], [r for r, g in zip(chor, fold) if g == f]
        pick = select(train, truth_key, seed=f) if picks is None else picks[f]
        if picks is None:
            log("  inner curve, tagger alone: " + ", ".join(f"{k[1]} {v:.1f}" for k, v in sorted(
                ((tuple(k.split()[:2]), v) for k, v in pick["curve"].items() if k.endswith(" 0.0")),
                key=lambda kv: (kv[0][0], int(kv[0][1])))))
        log(f"  fold {f}: {pick['key']}, {pick['epochs']} epochs, HMM weight {pick['weight']}" +
            (f" (inner: tagger {pick['inner tagger']:.1f}, ensemble {pick['inner ensemble']:.1f}, "
             f"HMM {pick['inner HMM']:.1f})" if picks is None else " (given)"))
        hmm = fit_hmm([r | {"truth": r[truth_key]} for r in train], "beat")
        taggers = [Tagger(pick["key"], f + 1000 * s).fit(train, truth_key, pick["epochs"]) for s in range(seeds)]
        for r in test:
            probs = np.mean([t.chord_probs(r) for t in taggers], 0)
            labels["tagger"][r["name"]] = decode(probs)
            labels["tagger x HMM"][r["name"]] = decode(probs, hmm_root_probs(hmm, r), pick["weight"])
            labels["learned HMM"][r["name"]] = hmm_beats(hmm, r, "beat")
        choices.append(pick | {"seconds": round(time.perf_counter() - t0)})
        test_truth = [r | {"truth": r[truth_key]} for r in test]
        log(f"  fold {f}: test beat root " + ", ".join(
            f"{k} {scored(test_truth, v)['beat']['root']:.1f}" for k, v in labels.items()) +
            f" ({time.perf_counter() - t0:.0f} s)")
    truth = [r | {"truth": r[truth_key]} for r in chor]
    return {k: scored(truth, v) for k, v in labels.items()}, choices


def load(folder, cache):
    """The chorale records of bench/chord_inference.py with beat features and both kinds of labels."""
    cache = Path(cache)
    if cache.is_file():
        data = pickle.loads(cache.read_bytes())
        if data["folder"] == str(Path(folder).resolve()):
            return data["records"]
    records, _ = load_chorales(folder)
    for r in records:
        smooth = smooth_chords(r["full"]["weights"], r["full"]["bass"], r["full"]["at_bar"], REP.score_inference)
        r["smoothed"] = np.where(smooth > 0, smooth, -1)
        r["features"] = beat_features(r)
    cache.write_bytes(pickle.dumps({"folder": str(Path(folder).resolve()), "records": records}))
    return records


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="data/chorales", help="folder of chorale MIDI files")
    ap.add_argument("--cache", default="/tmp/musicgan_chord_tagger.pkl", help="parsed chorales (delete to re-parse)")
    ap.add_argument("--out", default=str(Path(__file__).with_suffix(".json")), help="JSON results file")
    ap.add_argument("--labels", nargs="+", default=["truth", "smoothed"], choices=["truth", "smoothed"])
    ap.add_argument("--seeds", type=int, default=1, help="taggers averaged per fold")
    ap.add_argument("--picks", help="a previous run's JSON: reuse its inner-split choices instead of choosing")
    args = ap.parse_args()

    t0 = time.perf_counter()
    chor = load(args.data, args.cache)
    log = lambda s: print(f"[{time.perf_counter() - t0:6.0f} s] {s}", flush=True)
    log(f"{len(chor)} chorales, {sum(len(r['truth']) for r in chor)} beats")
    out = {"command": "PYTHONPATH=. .venv/bin/python -m bench.chord_tagger", "results": {}, "choices": {},
           "settings": {"units": UNITS, "dropout": DROPOUT, "lr": LR, "batch": BATCH, "max_epochs": MAX_EPOCHS,
                        "eval_every": EVAL_EVERY, "weights": WEIGHTS, "keys": KEYS}}
    out["command"] += f" --seeds {args.seeds}" * (args.seeds > 1) + f" --picks {args.picks}" * bool(args.picks)
    given = json.loads(Path(args.picks).read_text())["choices"] if args.picks else {}
    for truth_key in args.labels:
        name = {"truth": "per-beat four-voice labels", "smoothed": "smoothed four-voice labels"}[truth_key]
        log(name)
        res, choices = cross_validate(chor, truth_key, log, given.get(name), args.seeds)
        out["results"][name], out["choices"][name] = res, choices
        for model, r in res.items():
            log(f"  {model:<14} bar {r['bar']['root']:5.1f} / {r['bar']['root+quality']:5.1f}   "
                f"beat {r['beat']['root']:5.1f} / {r['beat']['root+quality']:5.1f}   (n {r['beat']['n']} beats)")
        out["seconds"] = round(time.perf_counter() - t0)
        Path(args.out).write_text(json.dumps(out, indent=1, default=float) + "\n")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
