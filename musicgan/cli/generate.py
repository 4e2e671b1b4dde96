"""`python generate.py`: songs over a typed progression from a trained model, with optional audio and pictures."""

import argparse
from pathlib import Path

from ..core.constants import DEFAULT_STYLE, MODELS_DIR, STYLES
from ..core.errors import UserError
from ..generate.arrangement import ACCOMPANIMENTS
from ..harmony.symbols import ACCEPTED
from .common import run


def build_generate_parser():
    p = argparse.ArgumentParser(
        prog="python generate.py",
        description="Write songs over a chord progression with a trained generator: a MIDI file with "
        "a 'Melody' track and a 'Chords' track, plus a JSON sidecar (chords, seed, model).",
        epilog='Chords: "C G Am F" is one chord a bar; "C G | Am F" puts chords between bar lines '
        f"(up to a chord a beat), as lead sheets write them (Cmaj9, B♭7, F#m7(b5), G7alt, C6/9, Am/G). Accepted: "
        f"{ACCEPTED}; the progression repeats to fill --bars.")
    p.add_argument("--chords", help='chord progression, e.g. "C G Am F" or "Dm7 G7 | Cmaj7"')
    p.add_argument("--chords-file", help="read the progression from a text file instead")
    p.add_argument("--bars", type=int, help="length of the song in bars; the progression repeats to fill them "
                   "(default: 16; a progression with sections plays its form once)")
    p.add_argument("--form", help='the order of named sections, e.g. AABA or "verse chorus verse" (default: as '
                   'written); --chords "A: C G Am F; B: F G C C" names them')
    p.add_argument("--vary", type=float, default=0.0, help="how much a repeated section's melody changes: 0 "
                   "repeats it, 1 writes it afresh (default: 0)")
    p.add_argument("--meter", help="time signature of the song, e.g. 3/4 or 6/8: one the model learned "
                   "(config.json's meters; default: 4/4 if it writes 4/4, else its most common)")
    p.add_argument("--out", default="out/song.mid", help="MIDI file to write (default: out/song.mid); "
                   "with --num-samples N: out/song_01.mid ...")
    p.add_argument("--style", choices=STYLES, default=DEFAULT_STYLE,
                   help=f"which shipped model writes the melody: models/STYLE (default: {DEFAULT_STYLE})")
    p.add_argument("--models", help="a model folder of your own (generator.h5 and config.json), instead of --style")
    p.add_argument("--num-samples", type=int, default=1, help="how many songs (default: 1)")
    p.add_argument("--seed", type=int, default=0, help="same seed, same song (default: 0)")
    p.add_argument("--temperature", type=float,
                   help="sampling temperature: 1 follows the network's odds, lower is safer, 0 always takes the "
                   "most likely token (default: the model's own, chosen on its training songs and kept in its "
                   "config.json, else 1)")
    p.add_argument("--chord-weight", type=float,
                   help="how strongly notes are pulled onto the chord's tones: 0 follows the network, 1 makes "
                   "each tone e (2.7) times likelier, up to 10 (default: the model's own, chosen with its "
                   "temperature, else 0)")
    p.add_argument("--bpm", type=float, default=100.0, help="tempo in quarter notes per minute, as MIDI counts "
                   "it (default: 100; a 6/8 bar then lasts 1.8 s)")
    p.add_argument("--key", help="transpose the progression from C: a note name (D, Bb) or semitones (-3)")
    p.add_argument("--accompaniment", choices=ACCOMPANIMENTS, default="pulse",
                   help="how the Chords track plays the progression: pulse (default) follows the meter, bass "
                   "on the strong beats and the chord between (a waltz in 3/4, two pulses in 6/8); block "
                   "holds each chord; arpeggio walks it in eighth notes; none leaves the track out")
    p.add_argument("--melody-program", type=int, default=0, help="General MIDI program of the melody (0-127)")
    p.add_argument("--chord-program", type=int, default=0, help="General MIDI program of the chords (0-127)")
    p.add_argument("--wav", action="store_true", help="also render each song to .wav (FluidSynth, else sine)")
    p.add_argument("--png", action="store_true", help="also draw each song's piano roll as .png")
    return p


def run_generate(args):
    from ..generate.songs import generate_songs, typed_misses

    if bool(args.chords) == bool(args.chords_file):
        raise UserError("give the progression with --chords \"C G Am F\" or --chords-file FILE (one of them)")
    for name in ("melody_program", "chord_program"):
        if not 0 <= getattr(args, name) <= 127:
            raise UserError(f"--{name.replace('_', '-')} must be a General MIDI program 0-127")
    if args.num_samples < 1:
        raise UserError("--num-samples must be at least 1")
    text = Path(args.chords_file).read_text() if args.chords_file else args.chords
    models = args.models or str(Path(MODELS_DIR) / args.style)
    songs = generate_songs(text, models, args.bars, args.out, args.num_samples, args.seed,
                           args.temperature, args.bpm, args.accompaniment, args.melody_program,
                           args.chord_program, args.key, args.meter, args.form, args.vary, args.chord_weight)
    _render_extras([p for p, _ in songs], args.wav, args.png)
    for path, meta in songs:
        print(f"wrote {path}  ({meta['bars']} bars at {meta['bpm']:g} bpm, seed {meta['seed']})")
    meter = songs[0][1]["meter"]
    missed, checks = typed_misses(models, meter)
    if missed:
        print(f"note: over typed progressions in {meter} this model misses {len(missed)} of the "
              f"quality bar's {checks} checks ({'; '.join(missed)}: {Path(models) / 'evaluation.json'})")
    return 0


def _render_extras(paths, wav, png):
    """Render .wav / .png next to each MIDI file (the audio and plotting modules load only when asked)."""
    if wav:
        from ..io.audio import fallback_note, write_wav

        notes = {fallback_note(write_wav(path, path.with_suffix(".wav"))) for path in paths} - {None}
        for note in notes:
            print(note)
    if png:
        from ..io.audition import read_sidecar
        from ..io.pictures import piano_roll_png

        for path in paths:
            piano_roll_png(path, path.with_suffix(".png"), chord_names=read_sidecar(path).get("beat_chords"),
                           title=path.name)


def generate_main(argv=None):
    args = build_generate_parser().parse_args(argv)     # TensorFlow loads only if numpy cannot run the model
    return run(run_generate, args)


