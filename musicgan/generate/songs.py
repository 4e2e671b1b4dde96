"""Songs from a trained model over a typed progression: MIDI (and a JSON sidecar) per sample."""

import json
import re
from pathlib import Path

import numpy as np

from ..core import constants as C
from ..core.errors import UserError
from ..core.files import write_text
from ..core.meter import Meter
from ..harmony.progression import (
    parse_chord,
    parse_song,
    progression_features,
    repeat_bars,
)
from ..io.midi import max_bars, write_song
from ..models.files import load_model
from .arrangement import render_song
from .sampling import (
    MAX_CHORD_WEIGHT,
    generate_melodies,
    model_chord_weight,
    model_temperature,
)

DEFAULT_BARS = 16


def key_shift(key):
    """Semitones to move a progression written in C: 'D' -> 2, 'Bb' -> -2, '-3' -> -3, '+5' -> 5."""
    if key is None:
        return 0
    try:
        return int(key)
    except ValueError:
        pass
    if not re.fullmatch(r"[A-G][#b]?", key):
        raise UserError(f"bad --key {key!r}: give a note name (C, D, Eb, F#, ...) or semitones (-3, +2)")
    root = parse_chord(key).root
    return root - 12 if root > 6 else root


def song_paths(out, num_samples):
    out = Path(out)
    if num_samples == 1:
        return [out]
    return [out.with_name(f"{out.stem}_{i + 1:02d}{out.suffix}") for i in range(num_samples)]


def model_meters(raw):
    """{"4/4": phrases, ...} the model writes, most common first: the meters of at least
    `MIN_METER_SHARE` of its training phrases (the ones `musicgan evaluate` judges it in), and always
    its most common (models from before meters: 4/4)."""
    known = dict(sorted((raw.get("meters") or {"4/4": 1}).items(), key=lambda kv: -kv[1]))
    total = sum(known.values())
    return {m: n for i, (m, n) in enumerate(known.items()) if i == 0 or n >= C.MIN_METER_SHARE * total}


def choose_meter(meter, raw, models_dir):
    """The `Meter` to write in: `meter` ("3/4") if the model writes it; by default 4/4, the meter of most
    lead sheets, if the model writes it, else its most common one (a folk model's 2/4 reels outnumber
    its 4/4 tunes, but a typed "C G Am F" is 4/4)."""
    known = model_meters(raw)
    if meter is None:
        return Meter.parse("4/4" if "4/4" in known else next(iter(known)))
    chosen = Meter.parse(meter)
    if str(chosen) not in known:
        seen = (raw.get("meters") or {}).get(str(chosen))
        why = (f"saw only {seen} phrases of {chosen}, under {C.MIN_METER_SHARE:.0%} of its corpus, too few to "
               "learn it" if seen else f"never learned {chosen}")
        raise UserError(f"the model in {models_dir} {why}: it writes {', '.join(known)} "
                        "(train one on more music in that meter, or pick one of these with --meter)")
    return chosen


def typed_misses(models_dir, meter):
    """(checks missed, checks) of the quality bar over typed progressions in `meter`, as the model's own
    report says (MODELS/evaluation.json, from `musicgan evaluate --typed`); ([], 0) without one."""
    try:
        bar = json.loads((Path(models_dir) / "evaluation.json").read_text())["meters"][str(meter)]["typed"]["bar"]
        return [c["check"] for c in bar if not c["ok"]], len(bar)
    except (OSError, ValueError, KeyError, TypeError):
        return [], 0


def compose(generator, plan, meter, num_samples=1, seed=0, temperature=1.0, vary=0.0, chord_weight=0.0):
    """(tokens (num_samples, steps), per-beat `Chord`s) of a song played as `plan` [(section, bars)]:
    a section played again repeats its melody; with `vary` > 0 it is written again from its phrase
    noise moved towards fresh noise by `vary` (1: a new melody), after what came before it. The last
    note is a tone of the last chord. `temperature` and `chord_weight` are as in `sample_phrases`."""
    if not 0 <= vary <= 1:
        raise UserError(f"--vary must be in [0, 1], got {vary}")
    rng = np.random.default_rng([seed, 1])                       # the variations' own draws
    tokens, beats, seen = np.zeros((num_samples, 0), np.uint8), [], {}
    for k, (name, bars) in enumerate(plan):
        features, section_beats = progression_features(bars, len(bars), meter)
        if name in seen and name and vary == 0:
            melody = seen[name][0]
        else:
            noises = None
            if name in seen and name:
                noises = [np.sqrt(1 - vary ** 2) * z + vary * rng.standard_normal(z.shape).astype(np.float32)
                          for z in seen[name][1]]
            melody, used = generate_melodies(generator, features, meter, num_samples, seed + k, temperature,
                                             previous=tokens, noises=noises, chord_weight=chord_weight)
            seen.setdefault(name, (melody, used))
        tokens, beats = np.concatenate([tokens, melody], 1), beats + section_beats
    return end_on_chord_tone(tokens, beats[-1]), beats


def end_on_chord_tone(tokens, chord):
    """Move each melody's last note, by the smallest step, onto a tone of `chord` (N.C. leaves it)."""
    tokens = tokens.copy()
    if chord.root < 0:
        return tokens
    for row in tokens:
        onsets = np.flatnonzero(row >= C.FIRST_PITCH_TOKEN)
        if not len(onsets):
            continue
        pitch = int(row[onsets[-1]]) - C.FIRST_PITCH_TOKEN + C.MIN_PITCH
        near = [p for p in range(C.MIN_PITCH, C.MAX_PITCH + 1) if p % 12 in chord.pitch_classes]
        best = min(near, key=lambda p: (abs(p - pitch), p))
        row[onsets[-1]] = best - C.MIN_PITCH + C.FIRST_PITCH_TOKEN
    return tokens


def generate_songs(progression, models_dir="models", bars=None, out="out/song.mid", num_samples=1, seed=0,
                   temperature=None, bpm=100.0, accompaniment="pulse", melody_program=0, chord_program=0,
                   key=None, meter=None, form=None, vary=0.0, chord_weight=None):
    """Write `num_samples` songs over the progression; returns [(midi path, metadata dict)].

    A progression without section names repeats to fill `bars` (default 16); one with sections
    ("A: C G Am F; B: F G C C") is played once through `form` (default: as written)."""
    if bars is not None and bars < 1:
        raise UserError(f"--bars must be at least 1, got {bars}")
    if not 20 <= bpm <= 400:
        raise UserError(f"--bpm must be 20-400, got {bpm}")
    if temperature is not None and not 0 <= temperature < float("inf"):             # NaN fails too
        raise UserError(f"--temperature must be a number >= 0, got {temperature}")
    if chord_weight is not None and not 0 <= chord_weight <= MAX_CHORD_WEIGHT:
        raise UserError(f"--chord-weight must be 0-{MAX_CHORD_WEIGHT:g}, got {chord_weight}")
    plan = parse_song(progression, form)
    shift = key_shift(key)
    plan = [(name, [[c.transposed(shift) for c in bar] for bar in section]) for name, section in plan]
    written = " ; ".join((f"{name}: " if name else "") + " | ".join(" ".join(c.symbol for c in bar) for bar in section)
                         for name, section in dict(plan).items())
    generator, _, raw = load_model(models_dir)
    meter = choose_meter(meter, raw, models_dir)
    temperature = model_temperature(raw, meter) if temperature is None else temperature
    chord_weight = model_chord_weight(raw, meter) if chord_weight is None else chord_weight
    sections = plan[0][0] != ""
    total = sum(len(b) for _, b in plan) if sections else bars or DEFAULT_BARS
    if total > max_bars(meter):
        raise UserError(f"--bars must be at most {max_bars(meter)} in {meter} (a longer MIDI file would not read "
                        f"back), got {total}: write several songs")
    if not sections:                                             # repeat the progression to fill the bars
        plan = [("", repeat_bars(plan[0][1], total))]
    tokens, beat_chords = compose(generator, plan, meter, num_samples, seed, temperature, vary, chord_weight)
    names = [c.symbol for c in beat_chords]
    results = []
    for i, (path, melody) in enumerate(zip(song_paths(out, num_samples), tokens)):
        write_song(render_song(melody, beat_chords, bpm, accompaniment, melody_program, chord_program, meter), path)
        meta = {"chords": written, "form": "".join(name for name, _ in plan) if plan[0][0] else None,
                "bars": sum(len(b) for _, b in plan), "meter": str(meter), "bpm": bpm, "seed": seed,
                "sample": i + 1, "temperature": temperature,
                "chord_weight": chord_weight, "vary": vary, "key_shift": shift,
                "model": str(models_dir), "model_epochs": raw.get("epochs_trained"), "beat_chords": names}
        write_text(Path(path).with_suffix(".json"), json.dumps(meta, indent=1))
        results.append((Path(path), meta))
    return results
