"""A chord HMM learned from chord sequences, for bench/chord_inference.py: is a learned model what the chorales need?

States are (key, chord relative to the key): 12 major and 12 minor keys, each with the chords of
`qualities` on 12 roots counted up from the tonic (R = 12 * len(qualities)). Everything is
relative to the key, so one table serves all 12 tonics:

- prior P(r | mode) and change table P(r' | r, mode, a change), both counted from the training
  chords (add-`alpha` smoothing, the chord itself excluded from the change table);
- P(stay) per boundary class (0 bar line, 1 the middle of an even bar, 2 any other beat), counted;
- emission: exp(gamma * sum_pc x_pc log P(pc | r, mode)) where x is the span's duration-weighted
  melody pitch classes (summing to 1) and P(pc | r, mode) is counted from the training melodies;
- the key changes with probability `key_change_prob` a span, the new chord drawn from the prior.

Training chords carry no key, so keys are found by hard EM: each piece's global key from its
chords' pitch classes (Krumhansl-Kessler profiles), then `iters` rounds of a key-only Viterbi over
the chords under the tables just counted. A chord kind outside `qualities` is counted as the
nearest kind on its root (NEAREST). Decoding is forward-backward: each span takes the root of
highest posterior (summed over keys and kinds), then the likeliest kind on that root, which is what
per-beat root agreement rewards (Viterbi's single best path scored 3-4 points lower on the chorales).

`key_prior=False` is the ablation: one flat prior and change table, and the emission pooled over
roots and modes into P(pc relative to the chord's root | kind), so keys play no part.
"""

import numpy as np

from musicgan.harmony import chords

QUALITY_NAMES = [q for q, _ in chords.QUALITIES]
NEAREST = {"m7": "m", "maj7": "", "aug": "", "sus4": "", "sus2": "", "6": "", "m6": "m", "m7b5": "dim",
           "dim7": "dim"}
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
ROTATE = (np.arange(12)[:, None] + np.arange(12)[None, :]) % 12      # [tonic, pc above it] -> pc


def boundary_class(at_bar, beats_per_span, bar_beats):
    """(spans,) 0 at a bar line, 1 at the middle of a bar of an even number of beats, else 2."""
    first = np.maximum.accumulate(np.where(at_bar, np.arange(len(at_bar)), 0))
    beat_in_bar = (np.arange(len(at_bar)) - first) * beats_per_span
    cls = np.where(at_bar, 0, 2)
    return np.where(~at_bar & (bar_beats % 2 == 0) & (beat_in_bar == bar_beats // 2), 1, cls)


class ChordHMM:
    def __init__(self, qualities=("", "m", "7", "dim"), alpha=0.5, gamma=0.7, key_change_prob=0.001, iters=2):
        self.q, self.alpha, self.gamma, self.pk, self.iters = list(qualities), alpha, gamma, key_change_prob, iters
        self.R = 12 * len(self.q)
        kind = [NEAREST.get(name, name) for name in QUALITY_NAMES]
        kind = [k if k in self.q else ("m" if k == "dim" and "m" in self.q else "") for k in kind]
        self.root = np.append(-1, chords.ROOTS[1:])                                  # (NUM_CHORDS,)
        self.kind = np.append(-1, [self.q.index(kind[(c - 1) % chords.NUM_QUALITIES])
                                   for c in range(1, chords.NUM_CHORDS)])
        rel = np.arange(self.R)                                         # (24 keys, R) -> chord id
        self.ids = np.stack([1 + ((rel // len(self.q) + k % 12) % 12) * chords.NUM_QUALITIES +
                             np.array([QUALITY_NAMES.index(q) for q in self.q])[rel % len(self.q)] for k in range(24)])

    def relative(self, ids, tonic):
        return ((self.root[ids] - tonic) % 12) * len(self.q) + self.kind[ids]

    # -------------------------------------------------------------------------------- fitting

    def fit(self, pieces):
        """pieces: [(chord ids (T,) > 0, boundary class (T,), melody x (T, 12) rows summing to 1 or 0)]."""
        keys = [np.full(len(ids), self._global_key(ids)) for ids, _, _ in pieces]
        for it in range(self.iters + 1):
            self._count(pieces, keys)
            if it < self.iters:
                keys = [self._key_path(ids) for ids, _, _ in pieces]
        self.keys = keys
        return self

    def _global_key(self, ids):
        profile = chords.TEMPLATES[ids].sum(0)
        corr = [np.corrcoef(profile, np.roll(p, t))[0, 1] for p in (KK_MAJOR, KK_MINOR) for t in range(12)]
        return int(np.argmax(corr))

    def _count(self, pieces, keys):
        a, R = self.alpha, self.R
        pi, change, emit = np.full((2, R), a), np.full((2, R, R), a), np.full((2, R, 12), a)
        stay = np.zeros((3, 2))
        for (ids, cls, x), k in zip(pieces, keys):
            mode, tonic = k // 12, k % 12
            r = self.relative(ids, tonic)
            np.add.at(pi, (mode, r), 1)
            same_key = k[1:] == k[:-1]
            moved = (r[1:] != r[:-1]) & same_key
            np.add.at(change, (mode[1:][moved], r[:-1][moved], r[1:][moved]), 1)
            np.add.at(stay, (cls[1:][same_key], 0), ~moved[same_key])
            np.add.at(stay, (cls[1:][same_key], 1), 1)
            np.add.at(emit, (mode, r), x[np.arange(len(x))[:, None], ROTATE[tonic]])
        change[:, np.arange(R), np.arange(R)] = 0
        self.pi = pi / pi.sum(1, keepdims=True)
        self.change = change / change.sum(2, keepdims=True)
        self.p_stay = stay[:, 0] / np.maximum(stay[:, 1], 1)
        self.log_emit = np.log(emit / emit.sum(2, keepdims=True))

    def _key_path(self, ids):
        """(T,) key per chord: Viterbi over the 24 keys with emission log P(chord | key)."""
        em = np.log(np.stack([self.pi[k // 12][self.relative(ids, k % 12)] for k in range(24)], 1))
        jump, hold = np.log(0.02 / 23), np.log(0.98)
        v, back = em[0], np.zeros((len(ids), 24), int)
        for t in range(1, len(ids)):
            b = int(v.argmax())
            back[t] = np.where(v + hold >= v[b] + jump, np.arange(24), b)
            v = np.maximum(v + hold, v[b] + jump) + em[t]
        path = [int(v.argmax())]
        for t in range(len(ids) - 1, 0, -1):
            path.append(back[t, path[-1]])
        return np.array(path[::-1])

    def without_keys(self):
        """A copy with flat prior and changes and the emission pooled relative to the chord root."""
        flat = ChordHMM(self.q, self.alpha, self.gamma, 0.0, self.iters)
        flat.p_stay = self.p_stay
        flat.pi = np.full((2, self.R), 1 / self.R)
        flat.change = np.full((2, self.R, self.R), 1 / (self.R - 1))
        flat.change[:, np.arange(self.R), np.arange(self.R)] = 0
        nq, root = len(self.q), np.arange(self.R) // len(self.q)
        # P(pc above the chord's root | kind), averaged over modes and roots
        by_root = np.exp(self.log_emit)[:, np.arange(self.R)[:, None], ROTATE[root]]    # (2, R, 12)
        pooled = by_root.reshape(2, 12, nq, 12).mean((0, 1))                           # (kinds, 12)
        back = pooled[np.arange(self.R) % nq][np.arange(self.R)[:, None], (np.arange(12)[None] - root[:, None]) % 12]
        flat.log_emit = np.log(np.broadcast_to(back, (2, self.R, 12)))
        return flat

    # -------------------------------------------------------------------------------- decoding

    def labels(self, x, cls):
        """(T,) chord ids (0 where x is silent) for melody x (T, 12) and boundary classes (T,)."""
        voiced = x.sum(1) > 0
        e = self.gamma * np.concatenate([x[:, ROTATE] @ self.log_emit[m].T for m in (0, 1)], 1)   # (T, 24, R)
        e[~voiced] = 0
        post = self._posterior(np.exp(e - e.max((1, 2), keepdims=True)), cls)
        p = np.zeros((len(x), chords.NUM_CHORDS))
        for k in range(24):
            np.add.at(p.T, self.ids[k], post[:, k].T)
        by_root = p[:, 1:].reshape(len(x), 12, chords.NUM_QUALITIES)
        root = by_root.sum(2).argmax(1)
        kind = by_root[np.arange(len(x)), root].argmax(1)
        return np.where(voiced, 1 + root * chords.NUM_QUALITIES + kind, 0)

    def _posterior(self, e, cls):
        """(T, 24, R) state posteriors by scaled forward-backward; e: (T, 24, R) emission likelihoods."""
        T, R, pk = len(e), self.R, self.pk
        trans = []
        for c in range(3):
            t = (1 - self.p_stay[c]) * self.change
            t[:, np.arange(R), np.arange(R)] = self.p_stay[c]
            trans.append((1 - pk) * t)
        prior = np.repeat(self.pi, 12, 0)                                               # (24, R)

        def forward(a, c):
            out = np.concatenate([a[:12] @ trans[c][0], a[12:] @ trans[c][1]])
            total = a.sum(1)
            return out + pk / 23 * (total.sum() - total)[:, None] * prior

        def backward(b, c):
            out = np.concatenate([b[:12] @ trans[c][0].T, b[12:] @ trans[c][1].T])
            into = (prior * b).sum(1)
            return out + pk / 23 * (into.sum() - into)[:, None]

        fw, bw = np.empty((T, 24, R)), np.ones((T, 24, R))
        a = prior * e[0]
        fw[0] = a / a.sum()
        for t in range(1, T):
            a = forward(fw[t - 1], int(cls[t])) * e[t]
            fw[t] = a / a.sum()
        for t in range(T - 2, -1, -1):
            b = backward(bw[t + 1] * e[t + 1], int(cls[t + 1]))
            bw[t] = b / b.sum()
        post = fw * bw
        return post / post.sum((1, 2), keepdims=True)
