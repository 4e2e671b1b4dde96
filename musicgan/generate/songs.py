"""Songs from a trained model over a typed progression: MIDI (and a JSON sidecar) per sample."""

import json
import re
from pathlib import Path

from ..core.errors import UserError
from ..core.files import write_text
from ..core.meter import FOUR_FOUR
from ..harmony.progression import parse_chord, parse_progression, progression_features
from ..io.midi import max_bars, write_song
from ..models.files import load_generator
from .arrangement import render_song
from .sampling import generate_melodies


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


def generate_songs(progression, models_dir="models", bars=16, out="out/song.mid", num_samples=1, seed=0,
                   temperature=1.0, bpm=100.0, accompaniment="block", melody_program=0, chord_program=0,
                   key=None):
    """Write `num_samples` songs over the progression; returns [(midi path, metadata dict)]."""
    if bars < 1:
        raise UserError(f"--bars must be at least 1, got {bars}")
    if bars > max_bars(FOUR_FOUR):
        raise UserError(f"--bars must be at most {max_bars(FOUR_FOUR)} (a longer MIDI file would not read back), "
                        f"got {bars}: write several songs")
    if not 20 <= bpm <= 400:
        raise UserError(f"--bpm must be 20-400, got {bpm}")
    if not 0 <= temperature < float("inf"):             # NaN fails too
        raise UserError(f"--temperature must be a number >= 0, got {temperature}")
    bar_chords = parse_progression(progression)
    shift = key_shift(key)
    if shift:
        bar_chords = [[c.transposed(shift) for c in bar] for bar in bar_chords]
    features, beat_chords = progression_features(bar_chords, bars)
    generator, cfg, raw = load_generator(models_dir)
    tokens = generate_melodies(generator, features, cfg.representation.phrase_bars, num_samples, seed, temperature)
    names = [c.symbol for c in beat_chords]
    results = []
    for i, (path, melody) in enumerate(zip(song_paths(out, num_samples), tokens)):
        write_song(render_song(melody, beat_chords, bpm, accompaniment, melody_program, chord_program), path)
        meta = {"chords": " | ".join(" ".join(c.symbol for c in bar) for bar in bar_chords), "bars": bars,
                "bpm": bpm, "seed": seed, "sample": i + 1, "temperature": temperature, "key_shift": shift,
                "model": str(models_dir), "model_epochs": raw.get("epochs_trained"), "beat_chords": names}
        write_text(Path(path).with_suffix(".json"), json.dumps(meta, indent=1))
        results.append((Path(path), meta))
    return results
