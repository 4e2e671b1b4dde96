"""`musicgan evaluate --typed`: the model over progressions people type, one chord a bar, in each meter.

For each meter judged, every progression is written as a 16-bar song with `seeds` seeds, as
generate.py writes it, and cut into windows of the phrase's whole bars. Every row is scored with
the same metrics as on corpus windows: melodic metrics against the held-out melodies of that
meter, chord-tone ratios against the typed chords (the held-out melodies against their own). The
two-sample classifier sees melodies alone here, since typed and corpus chords differ by design, and
every seed's melody (each beside a held-out window of its own; one a window left it about 40 test
melodies, too few to tell uniform noise from folk tunes), each moved into a random key
(`in_any_key`), as the held-out windows are.
"""

from pathlib import Path

import numpy as np

from ..core.errors import UserError
from ..core.meter import SLOT_STEPS
from ..data.phrases import transpose as shift_tokens
from ..generate.songs import compose
from ..harmony.progression import parse_progression, repeat_bars
from . import metrics
from .classifier import two_sample_accuracy
from .novelty import novelty

# one chord a bar, as lead sheets and pop charts write them; several keys, major and minor
PROGRESSIONS = ("C G Am F", "Am F C G", "C Am F G", "G D Em C", "D A Bm G", "F C Dm Bb", "E A B7 E",
                "Am Dm E7 Am", "Em C G D", "C F G7 C", "Dm7 G7 Cmaj7 Cmaj7", "A D E7 A", "Bb Eb F7 Bb",
                "G Em C D7", "Cm Ab Eb Bb")
SONG_BARS = 16


def read_progressions(path):
    """Progressions from a text file, one a line ('#' starts a comment)."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as e:
        raise UserError(f"cannot read --progressions {path} ({e.strerror or e})") from None
    out = [line.split("#")[0].strip() for line in lines]
    if not any(out):
        raise UserError(f"--progressions {path} holds no progression (one a line, e.g. C G Am F)")
    return [line for line in out if line]


def in_any_key(tokens, rng):
    """(N, steps) melodies, each moved by its own shift of -5..+6 semitones (left as it is where that would
    leave the range). The typed progressions sit in a few keys, the held-out windows in all twelve, and a
    classifier that reads pitches would otherwise tell them apart by their key alone."""
    moved, ok = shift_tokens(tokens, rng.integers(-5, 7, (len(tokens), 1)))
    return np.where(ok[:, None], moved, tokens)


def typed_windows(generator, meter, progressions, seeds, seed, steps, temperature=1.0, chord_weight=0.0):
    """(model tokens (W, seeds, steps), chord ids per slot (W, slots)): 16-bar songs over each progression,
    cut into windows of `steps` from bar lines."""
    tokens, ids = [], []
    for p, text in enumerate(progressions):
        plan = [("", repeat_bars(parse_progression(text), SONG_BARS))]
        song, beats = compose(generator, plan, meter, seeds, seed + p, temperature, chord_weight=chord_weight)
        slot_ids = np.repeat([c.id for c in beats], meter.steps_per_beat // SLOT_STEPS)
        for start in range(0, song.shape[1] - steps + 1, steps):
            tokens.append(song[:, start:start + steps])
            ids.append(slot_ids[start // SLOT_STEPS:(start + steps) // SLOT_STEPS])
    return np.stack(tokens), np.stack(ids)


def judge_typed(models, real, baselines, profile, meter, progressions, seeds, seed, finder, sampling):
    """Rows {name: metrics} of the real held-out windows (`real`: melody, chords, previous, song of this
    meter) and of the `models` {"model": the GAN, "lstm": ...} and the `baselines` {name: maker} over the
    typed progressions (each model's songs over its own windows; the chords are the same), each model drawn
    with its `sampling` {name: (temperature, chord weight)}."""
    steps = meter.whole_bars(real["melody"].shape[1]) * meter.steps_per_bar
    mel, own = real["melody"][:, :steps], real["chords"][:, :steps // SLOT_STEPS]
    rows = {"real (held out)": metrics.summary(mel, own, meter)}
    rows["real (held out)"].update(
        diversity=metrics.real_diversity(mel, own, real["previous"], real["song"], meter=meter),
        classifier_accuracy=0.5, **novelty(mel, finder))
    written = {}
    for name, generator in models.items():
        written[name], typed = typed_windows(generator, meter, progressions, seeds, seed, steps, *sampling[name])
    rng = np.random.default_rng(seed)
    makers = {**{name: lambda ids, _profile, _rng, meter, t=t: t.reshape(-1, steps) for name, t in written.items()},
              **baselines}
    pair = rng.choice(len(mel), len(typed) * seeds)             # a real window for each typed melody
    no_chords = np.zeros((len(pair), typed.shape[1]), int)
    key_rng = np.random.default_rng([seed, 2])                  # its own draws: the rows stay as they were
    for name, make in makers.items():
        tokens = make(np.repeat(typed, seeds, 0), profile, rng, meter=meter)[:, :steps].reshape(
            len(typed), seeds, steps)
        flat = tokens.reshape(-1, steps)
        row = metrics.summary(flat, np.repeat(typed, seeds, 0), meter)
        row["diversity"] = float(np.mean([metrics.diversity(t) for t in tokens]))
        row.update(novelty(flat, finder))
        row["classifier_accuracy"] = two_sample_accuracy(mel[pair], in_any_key(flat, key_rng), no_chords,
                                                         real["song"][pair])
        rows[name] = row
    return rows
