"""How often melody.pick_melody finds the tune in re-voiced corpus melodies, against the old rule.

The labelled set is built here, in code. Each real melody from music21's corpus (the soprano of a
Bach chorale, or an Essen folk song from its ABC files) becomes one multi-track song: the melody
plus a bass line and drums, and some of a block-chord pad (above the melody in half the songs that
have one), an arpeggio (above it in some), and a counter-line (the chorale's real alto or tenor,
or one made from chord tones, now and then a descant above the tune). Chords come from the
chorale's own four voices, or for a folk song from the key's triad that best covers each bar.
Tracks are shuffled; names are generic ("Track 3", ""), honest ("Bass", but the melody often
"Piano"), or misleading (a pad or counter-line named "Lead", the melody "Strings"); General MIDI
programs are realistic, all 0, or misleading (melody on strings, a pad on a synth lead). Tempo
is random and a third of the songs are played with timing jitter.

The melodies are split in two: the development half (arranged with seed 0) is the one the weights
in musicgan/data/melody.py were checked on; the held-out half (seed 1) was not looked at while
choosing them. Each cue is also left out in turn (the ablation). A last row reads the bundled
data/chorales MIDI files with their track names blanked and their tracks shuffled.

The old rule (round 1's pick): a track with a melody name, else the highest mean
pitch. This is a synthetic set: it measures the cues on the cases it builds, not Lakh's mix.

Run from the repository root (about half a minute on one core):
    .venv/bin/python -m bench.melody_detection [--melodies 320] [--versions 2] [--out ...json]
"""

import argparse
import collections
import json
import re
import time
from pathlib import Path

import numpy as np

from musicgan.core import constants as C
from musicgan.data import chorales as chorale_corpus
from musicgan.data import melody
from musicgan.io import midi as midi_io

ROOT = Path(__file__).resolve().parent.parent
FOLK_FILES = ("altdeu10", "altdeu20", "ballad10", "ballad20", "ballad30", "boehme10", "dva0",
              "erk10", "erk20", "fink0", "han1", "kinder0", "lot", "lux", "zuccal0")
TRIADS = {"major": ((0, 0.3), (5, 0.2), (7, 0.25), (9, 0.1), (2, 0.05)),   # I IV V vi ii: (root, prior)
          "minor": ((0, 0.3), (5, 0.2), (7, 0.25), (8, 0.1), (3, 0.05))}   # i iv V VI III
THIRD = {"major": {0: 4, 5: 4, 7: 4, 9: 3, 2: 3}, "minor": {0: 3, 5: 3, 7: 4, 8: 4, 3: 4}}
MELODY_NAMES = ("Melody", "Lead", "Vocal", "Voice")
DECOY_NAMES = ("Lead", "Melody", "Lead Synth", "Voice")
HONEST = {"bass": ("Bass", "Fretless", "Synth Bass"), "pad": ("Pad", "Strings", "Warm Pad", "Choir"),
          "arpeggio": ("Arp", "Piano", "Harp", "Guitar"), "counter": ("Strings", "Counter", "Cello", "Alto"),
          "drums": ("Drums", "Kit", "Percussion"), "melody": MELODY_NAMES + ("Piano", "Synth", "Flute")}
PROGRAMS = {"melody": (0, 73, 80, 81, 65, 56, 40, 53, 71, 24), "bass": (32, 33, 34, 38),
            "pad": (89, 90, 48, 49, 50, 0, 4), "arpeggio": (0, 4, 5, 24, 46),
            "counter": (48, 40, 42, 71, 60, 61), "drums": (0,)}


# ---- melodies from the corpus: (pitch, start, end) in quarter notes, chords as (start, end, pcs, root)

def chorale_melodies(count):
    """The SATB voices of the first `count` four-voice chorales, in quarter notes."""
    from music21 import corpus

    out = []
    for name in list(dict.fromkeys(chorale_corpus.chorale_names())):
        if len(out) == count:
            break
        try:
            song = chorale_corpus.chorale_song(corpus.parse(chorale_corpus.source_file(name)))
        except chorale_corpus.Skip:
            continue
        if len(song.tracks) != 4:
            continue
        q = chorale_corpus.SECONDS_PER_QUARTER
        voices = [[(int(p), s / q, e / q) for p, s, e in zip(t.pitches, t.starts, t.ends)] for t in song.tracks]
        out.append({"source": "chorale", "id": name, "melody": voices[0], "alto": voices[1],
                    "tenor": voices[2], "bass": voices[3], "chords": chorale_chords(voices)})
    return out


def chorale_chords(voices):
    """One chord a beat: the pitch classes all four voices sound there, rooted on the bass."""
    end = max(e for v in voices for _, _, e in v)
    chords = []
    for beat in np.arange(0, np.ceil(end)):
        sounding = [[p for p, s, e in v if s <= beat + 0.01 < e] for v in voices]
        if not sounding[3] or len({p % 12 for v in sounding for p in v}) < 2:
            continue
        pcs = tuple(sorted({p % 12 for v in sounding for p in v}))
        chords.append((beat, beat + 1.0, pcs, sounding[3][0] % 12))
    return chords


def folk_melodies(count, rng):
    """`count` Essen folk songs drawn from FOLK_FILES, harmonised one triad a bar."""
    from music21 import corpus

    folder = Path(corpus.__file__).parent / "essenFolksong"
    tunes = [(f, int(x)) for f in FOLK_FILES
             for x in re.findall(r"^X:\s*(\d+)", (folder / f"{f}.abc").read_text("latin-1"), re.MULTILINE)]
    out = []
    for k in rng.permutation(len(tunes)):
        if len(out) == count:
            break
        f, number = tunes[k]
        try:
            score = corpus.parse(f"essenFolksong/{f}", number=number)
            notes = [(n.pitches[-1].midi, float(n.offset), float(n.offset + n.quarterLength))
                     for n in score.flatten().stripTies().notes if n.quarterLength > 0]
            key = score.analyze("key")
        except Exception:  # noqa: BLE001, S112 - an unparseable tune is skipped, the count says so
            continue
        if len(notes) < 16:
            continue
        ts = score.flatten().getElementsByClass("TimeSignature").first()
        bar = float(ts.barDuration.quarterLength) if ts is not None else 4.0
        out.append({"source": "folk", "id": f"{f}/{number}", "melody": notes,
                    "chords": folk_chords(notes, bar, key.tonic.pitchClass, key.mode)})
    return out


def folk_chords(notes, bar, tonic, mode):
    """The key's triad covering most of each bar's melody (by duration), with a prior for I and V."""
    mode = mode if mode in TRIADS else "major"
    end = max(e for _, _, e in notes)
    chords = []
    for start in np.arange(0, end, bar):
        weight = np.zeros(12)
        for p, s, e in notes:
            weight[p % 12] += max(0.0, min(e, start + bar) - max(s, start))
        total = weight.sum() or 1.0
        best = max(TRIADS[mode], key=lambda rp: sum(weight[(tonic + rp[0] + i) % 12]
                                                    for i in (0, THIRD[mode][rp[0]], 7)) / total + rp[1])
        root = (tonic + best[0]) % 12
        pcs = tuple(sorted((root + i) % 12 for i in (0, THIRD[mode][best[0]], 7)))
        chords.append((float(start), float(start + bar), pcs, root))
    return chords


# ---- accompaniment, in quarter notes

def voicing(pcs, floor, notes=3):
    """The lowest `notes` pitches at or above `floor` whose pitch classes are in `pcs`."""
    return [p for p in range(floor, floor + 36) if p % 12 in pcs][:notes]


def bass_line(chords, rng):
    pattern = rng.choice(["held", "beats", "root-fifth"])
    notes = []
    for s, e, pcs, root in chords:
        low = 36 + (root - 36) % 12
        if pattern == "held":
            notes.append((low, s, e - 0.05))
        else:
            for k, b in enumerate(np.arange(s, e, 1.0)):
                fifth = pattern == "root-fifth" and k % 2 and (root + 7) % 12 in pcs
                notes.append((low + 7 if fifth else low, b, min(b + 0.9, e)))
    return notes


def pad(chords, floor, rng):
    size = int(rng.integers(3, 5))
    notes, held = [], None
    for s, e, pcs, _ in chords:
        chord = voicing(pcs, floor, size)
        if held and held[0] == chord and rng.random() < 0.5:     # tie a repeated chord over
            held[2] = e
            continue
        if held:
            notes += [(p, held[1], held[2]) for p in held[0]]
        held = [chord, s, e]
    notes += [(p, held[1], held[2]) for p in held[0]] if held else []
    return notes


def arpeggio(chords, floor, rng):
    step = float(rng.choice([0.5, 0.25]))
    ring = rng.random() < 0.25                                  # notes held to the chord's end
    updown = rng.random() < 0.5
    notes = []
    for s, e, pcs, _ in chords:
        tones = voicing(pcs, floor, 6)
        cycle = tones + tones[-2:0:-1] if updown else tones
        for k, t in enumerate(np.arange(s, e - 1e-6, step)):
            notes.append((cycle[k % len(cycle)], t, e if ring else t + step * 0.9))
    return notes


def counter_line(chords, center, rng):
    """Chord tones nearest the last one inside center +- 5, a note a chord (sometimes two), stepwise
    passing notes between them now and then."""
    notes, last = [], center
    split = rng.random() < 0.5
    for s, e, pcs, _ in chords:
        parts = [(s, (s + e) / 2), ((s + e) / 2, e)] if split and e - s >= 2 else [(s, e)]
        for a, b in parts:
            near = [p for p in range(center - 5, center + 6) if p % 12 in pcs] or [last]
            target = min(near, key=lambda p: (abs(p - last), p))
            if notes and rng.random() < 0.3 and abs(target - last) > 2 and b - a >= 2:
                notes.append((last + int(np.sign(target - last)) * 2, a, a + 1))   # a passing note
                a += 1
            notes.append((target, a, b - 0.05))
            last = target
    return notes


def drums(end):
    notes = []
    for b in np.arange(0, end, 0.5):
        if b % 1 == 0:
            notes.append((36 if b % 2 == 0 else 38, b, b + 0.25))
        notes.append((42, b, b + 0.25))
    return notes


# ---- one song

def arrange(tune, rng):
    """(tracks, index of the melody, tags) for one re-voiced tune."""
    shift = int(rng.integers(-5, 6)) if tune["source"] == "folk" else 0
    shift -= 12 if rng.random() < 0.15 else 0                   # the tune an octave down (a low voice)
    mel = [(p + shift, s, e) for p, s, e in tune["melody"]]
    chords = tune["chords"]
    pitches = np.array([p for p, _, _ in mel])
    high, middle = int(np.percentile(pitches, 90)), int(np.median(pitches))
    end = max(e for _, _, e in mel)
    tags = {"source": tune["source"], "octave_down": shift <= -7}

    parts = {"melody": mel, "bass": bass_line(chords, rng), "drums": drums(end)}
    if rng.random() < 0.7:
        tags["pad_above"] = bool(rng.random() < 0.5)
        parts["pad"] = pad(chords, high + int(rng.integers(1, 6)) if tags["pad_above"]
                           else int(rng.integers(50, 59)), rng)
    if rng.random() < 0.5:
        tags["arpeggio_above"] = bool(rng.random() < 0.3)
        parts["arpeggio"] = arpeggio(chords, middle + int(rng.integers(3, 8)) if tags["arpeggio_above"]
                                     else int(rng.integers(55, 64)), rng)
    if rng.random() < 0.6:
        if tune["source"] == "chorale" and rng.random() < 0.7:
            parts["counter"] = [(p + shift, s, e) for p, s, e in tune[str(rng.choice(["alto", "tenor"]))]]
            tags["counter"] = "chorale voice"
        else:
            tags["counter"] = "descant" if rng.random() < 0.2 else "below"
            center = high + int(rng.integers(3, 8)) if tags["counter"] == "descant" \
                else middle - int(rng.integers(5, 11))
            parts["counter"] = counter_line(chords, center, rng)

    roles = list(parts)
    rng.shuffle(roles)
    names = name_tracks(roles, rng, tags)
    programs = program_tracks(roles, rng, tags)
    bpm = float(rng.uniform(70, 150))
    jitter = 0.008 if rng.random() < 0.33 else 0.0
    tracks = []
    for role, name, program in zip(roles, names, programs):
        arr = np.array(parts[role], float).reshape(-1, 3)
        arr[:, 1:] *= 60.0 / bpm
        arr[:, 1:] += rng.normal(0, jitter, size=(len(arr), 2)) if jitter else 0.0
        arr[:, 1] = np.maximum(arr[:, 1], 0)
        tracks.append(midi_io.make_track(name, arr, program=program, is_drum=role == "drums"))
    tags["above"] = bool(max(np.mean(t.pitches) for r, t in zip(roles, tracks) if r not in ("melody", "drums"))
                         > np.mean(pitches))
    return tracks, roles.index("melody"), tags


def name_tracks(roles, rng, tags):
    scheme = str(rng.choice(["generic", "honest", "misleading"], p=[0.4, 0.35, 0.25]))
    decoys = [r for r in roles if r in ("pad", "arpeggio", "counter")]
    if scheme == "misleading" and not decoys:
        scheme = "generic"
    tags["names"] = scheme
    blank = rng.random() < 0.5
    generic = ["" if blank else f"Track {k + 1}" for k in range(len(roles))]
    if scheme == "generic":
        return generic
    if scheme == "honest":
        return [str(rng.choice(HONEST[r])) for r in roles]
    decoy = decoys[int(rng.integers(len(decoys)))]
    tags["decoy"] = decoy
    return [str(rng.choice(DECOY_NAMES)) if r == decoy
            else str(rng.choice(["Synth", "Piano", "Strings", generic[k] or "Track 1"])) if r == "melody"
            else generic[k] for k, r in enumerate(roles)]


def program_tracks(roles, rng, tags):
    scheme = str(rng.choice(["realistic", "zero", "misleading"], p=[0.5, 0.3, 0.2]))
    tags["programs"] = scheme
    if scheme == "zero":
        return [0] * len(roles)
    programs = [int(rng.choice(PROGRAMS[r])) for r in roles]
    if scheme == "misleading":
        for k, r in enumerate(roles):
            if r == "melody":
                programs[k] = int(rng.choice([48, 49, 89]))
            elif r in ("pad", "counter"):
                programs[k] = int(rng.choice([80, 81]))
    return programs


# ---- measuring

def old_rule(tracks):
    """Round 1's pick: a track named like a melody, else the highest-pitched non-drum track."""
    candidates = [i for i, t in enumerate(tracks) if not t.is_drum and len(t)]
    named = [i for i in candidates if any(n in tracks[i].name.lower() for n in C.MELODY_NAMES)]
    return named[0] if named else max(candidates, key=lambda i: np.mean(tracks[i].pitches))


def best(rows, weights):
    return max(rows, key=lambda r: sum(weights[k] * r["cues"][k] for k in weights))["index"]


def evaluate(songs):
    """Accuracy of both rules, by tag, and with each cue left out; songs = [(tracks, label, tags)]."""
    rows = [melody.track_scores(tracks) for tracks, _, _ in songs]
    new = [best(r, melody.WEIGHTS) == label for r, (_, label, _) in zip(rows, songs)]
    old = [old_rule(tracks) == label for tracks, label, _ in songs]
    groups = collections.defaultdict(list)
    for (_, _, tags), n, o in zip(songs, new, old):
        groups["all"].append((n, o))
        for key, value in tags.items():
            groups[f"{key}={value}"].append((n, o))
    by_tag = {g: {"n": len(v), "new": round(float(np.mean([n for n, _ in v])), 3),
                  "old": round(float(np.mean([o for _, o in v])), 3)} for g, v in sorted(groups.items())}
    ablation = {}
    for cue in melody.WEIGHTS:
        weights = dict(melody.WEIGHTS, **{cue: 0.0})
        ablation[cue] = round(float(np.mean([best(r, weights) == label
                                             for r, (_, label, _) in zip(rows, songs)])), 3)
    return {"n": len(songs), "new": by_tag["all"]["new"], "old": by_tag["all"]["old"],
            "without_cue": ablation, "by_tag": by_tag}


def bundled_chorales(rng):
    """Accuracy on data/chorales/*.mid with names blanked and tracks shuffled (label: the soprano)."""
    songs = []
    for path in sorted((ROOT / "data" / "chorales").glob("*.mid")):
        tracks = midi_io.read_song(path).tracks
        soprano = tracks[0]
        order = rng.permutation(len(tracks))
        tracks = [tracks[k] for k in order]
        for k, t in enumerate(tracks):
            t.name = f"track {k + 1}"
        songs.append((tracks, [t is soprano for t in tracks].index(True), {}))
    result = evaluate(songs)
    return {k: result[k] for k in ("n", "new", "old")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--melodies", type=int, default=320, help="half chorales, half folk songs")
    parser.add_argument("--versions", type=int, default=2, help="arrangements of each melody")
    parser.add_argument("--out", default=str(ROOT / "bench" / "melody_detection.json"))
    args = parser.parse_args()
    t0 = time.perf_counter()
    tunes = chorale_melodies(args.melodies // 2) + folk_melodies(args.melodies - args.melodies // 2,
                                                                 np.random.default_rng(0))
    splits = {}
    for name, seed, half in (("development", 0, tunes[0::2]), ("held_out", 1, tunes[1::2])):
        rng = np.random.default_rng(seed)
        splits[name] = evaluate([arrange(t, rng) for t in half for _ in range(args.versions)])
    splits["bundled_chorales_unnamed"] = bundled_chorales(np.random.default_rng(2))
    result = {"melodies": len(tunes), "versions": args.versions, "weights": melody.WEIGHTS,
              "seconds": round(time.perf_counter() - t0, 1), **splits}
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print_table(result)


def print_table(result):
    print(f"{'set':<34}{'n':>6}{'pick_melody':>13}{'old rule':>10}")
    for name in ("development", "held_out", "bundled_chorales_unnamed"):
        r = result[name]
        print(f"{name:<34}{r['n']:>6}{r['new']:>13.1%}{r['old']:>10.1%}")
    print("\nheld-out, by case")
    for tag, r in result["held_out"]["by_tag"].items():
        print(f"  {tag:<32}{r['n']:>6}{r['new']:>13.1%}{r['old']:>10.1%}")
    print("\nwithout one cue (development / held-out)")
    for cue in result["weights"]:
        print(f"  {cue:<32}{result['development']['without_cue'][cue]:>6.1%}"
              f"{result['held_out']['without_cue'][cue]:>13.1%}")
    print(f"\n{result['melodies']} melodies x {result['versions']} arrangements, {result['seconds']} s")


if __name__ == "__main__":
    main()
