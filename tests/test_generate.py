import gc
import json
import shutil

import mido
import numpy as np
import pretty_midi
import pytest

from musicgan.cli import generate_main
from musicgan.core import constants as C
from musicgan.core.meter import Meter
from musicgan.generate.sampling import (
    chord_tones,
    chord_weighted,
    model_chord_weight,
    model_temperature,
)


@pytest.fixture
def models(tiny_models):
    return tiny_models


def _gen(models, tmp_path, *extra):
    return generate_main(["--models", str(models), "--out", str(tmp_path / "song.mid"), *extra])


def _block_chords(pm):
    """Pitch-class sets of the Chords track, one per distinct onset time."""
    track = next(i for i in pm.instruments if i.name == "Chords")
    onsets = sorted({round(n.start, 6) for n in track.notes})
    return [frozenset(n.pitch % 12 for n in track.notes if round(n.start, 6) == t) for t in onsets]


def test_song_has_named_tracks_length_range_and_chords(models, tmp_path):
    assert _gen(models, tmp_path, "--chords", "C G Am F", "--bars", "6", "--bpm", "120", "--accompaniment", "block") == 0
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "song.mid"))
    assert [i.name for i in pm.instruments] == ["Melody", "Chords"]
    assert [t.name for t in mido.MidiFile(tmp_path / "song.mid").tracks if t.name] == ["Melody", "Chords"]
    assert pm.get_end_time() == pytest.approx(6 * 4 * 0.5)
    assert pm.estimate_tempo() > 0 and pm.get_tempo_changes()[1][0] == pytest.approx(120)
    melody = pm.instruments[0].notes
    assert melody and all(C.MIN_PITCH <= n.pitch <= C.MAX_PITCH for n in melody)
    c, g, am, f = (frozenset(s) for s in ({0, 4, 7}, {7, 11, 2}, {9, 0, 4}, {5, 9, 0}))
    assert _block_chords(pm) == [c, g, am, f, c, g]
    meta = json.loads((tmp_path / "song.json").read_text())
    assert meta["chords"] == "C | G | Am | F" and meta["seed"] == 0 and meta["bars"] == 6 and meta["meter"] == "4/4"


def test_seed_repeats_and_samples_are_numbered(models, tmp_path):
    args = ["--chords", "Dm7 G7 | Cmaj7", "--bars", "4", "--num-samples", "2", "--seed", "7", "--accompaniment", "block"]
    _gen(models, tmp_path / "a", *args)
    _gen(models, tmp_path / "b", *args)
    for name in ("song_01.mid", "song_02.mid"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "a" / "song_01.mid"))
    assert len(_block_chords(pm)) == 6            # Dm7 G7 (half a bar each) Cmaj7, twice


def test_options_key_accompaniment_programs_chords_file(models, tmp_path):
    (tmp_path / "prog.txt").write_text("C | F\n")
    assert _gen(models, tmp_path, "--chords-file", str(tmp_path / "prog.txt"), "--bars", "2", "--key", "D",
                "--accompaniment", "arpeggio", "--melody-program", "73", "--chord-program", "24",
                "--temperature", "0") == 0
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "song.mid"))
    melody, chords = pm.instruments
    assert (melody.program, chords.program) == (73, 24)
    assert len(chords.notes) == 16 and {n.pitch % 12 for n in chords.notes[:8]} == {2, 6, 9}  # D major arpeggio
    _gen(models, tmp_path, "--chords", "C", "--bars", "1", "--accompaniment", "none")
    assert [i.name for i in pretty_midi.PrettyMIDI(str(tmp_path / "song.mid")).instruments] == ["Melody"]


def test_a_waltz_has_its_meter_bars_and_accompaniment(models, tmp_path, capsys):
    assert _gen(models, tmp_path, "--chords", "C | G7 | Am F | C", "--meter", "3/4", "--bars", "8",
                "--bpm", "120") == 0
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "song.mid"))
    assert [(t.numerator, t.denominator) for t in pm.time_signature_changes] == [(3, 4)]
    assert pm.get_end_time() == pytest.approx(8 * 3 * 0.5)                # exactly its bars, silent or not
    np.testing.assert_allclose(pm.get_downbeats(), np.arange(8) * 1.5)
    chords = next(i for i in pm.instruments if i.name == "Chords").notes
    bass = sorted(n.start for n in chords if n.pitch < 48)
    upper = sorted({round(n.start, 6) for n in chords if n.pitch >= 48})
    np.testing.assert_allclose(bass, np.arange(8) * 1.5)                  # bass on every downbeat...
    np.testing.assert_allclose(upper, sorted(b * 1.5 + k for b in range(8) for k in (0.5, 1.0)))   # ...chords after
    beats = json.loads((tmp_path / "song.json").read_text())["beat_chords"]
    assert beats[:12] == ["C"] * 3 + ["G7"] * 3 + ["Am", "Am", "F"] + ["C"] * 3
    assert _gen(models, tmp_path, "--chords", "C", "--meter", "6/8") == 2
    assert "never learned 6/8: it writes 4/4, 3/4" in capsys.readouterr().err


def test_a_meter_with_too_few_phrases_is_refused_with_how_many():
    from musicgan.core.errors import UserError
    from musicgan.generate.songs import choose_meter

    raw = {"meters": {"3/4": 260, "4/4": 1439, "3/2": 10}}
    assert str(choose_meter(None, raw, "m")) == "4/4" and str(choose_meter("3/4", raw, "m")) == "3/4"
    with pytest.raises(UserError, match=r"saw only 10 phrases of 3/2, under 2% .*: it writes 4/4, 3/4 "):
        choose_meter("3/2", raw, "m")
    assert str(choose_meter(None, {"meters": {"5/4": 1}}, "m")) == "5/4"      # its most common, however few
    assert str(choose_meter(None, {"meters": {"2/4": 195, "6/8": 158, "4/4": 136}}, "m")) == "4/4"
    assert str(choose_meter(None, {"meters": {"2/4": 195, "6/8": 158, "4/4": 1}}, "m")) == "2/4"  # 4/4 unwritten


def test_a_song_that_ends_in_silence_lasts_its_bars(models, tmp_path):
    assert _gen(models, tmp_path, "--chords", "Em7b5 A7 Dm N.C.", "--bars", "8", "--bpm", "120") == 0
    assert pretty_midi.PrettyMIDI(str(tmp_path / "song.mid")).get_end_time() == pytest.approx(8 * 4 * 0.5)


def test_errors_are_one_line(models, tmp_path, capsys):
    cases = [(["--chords", "C G Hm7"], "bad chord 'Hm7' at position 3"),
             (["--chords", "C", "--key", "Q"], "bad --key 'Q'"),
             (["--chords", "C", "--bars", "0"], "--bars must be at least 1"),
             ([], "give the progression"),
             (["--chords", "C", "--melody-program", "200"], "0-127"),
             (["--chords", "C", "--meter", "3-4"], "bad meter '3-4': write it as a time signature"),
             (["--chords", "C D E F |", "--meter", "3/4"], "at most 3 in 3/4"),
             (["--chords", "|"], "no chords in the progression '|'"),
             (["--chords", " | |  "], "no chords in the progression"),
             (["--chords", "C", "--temperature", "nan"], "--temperature must be a number >= 0, got nan"),
             (["--chords", "C", "--temperature", "inf"], "--temperature must be a number >= 0, got inf"),
             (["--chords", "C", "--chord-weight", "-1"], "--chord-weight must be 0-10, got -1.0"),
             (["--chords", "C", "--bars", "20000"], "--bars must be at most 11363 in 4/4 (a longer MIDI file")]
    for args, message in cases:
        assert _gen(models, tmp_path, *args) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert generate_main(["--chords", "C", "--models", str(tmp_path / "none")]) == 2
    assert "python train.py" in capsys.readouterr().err


def test_config_that_does_not_match_the_model_is_refused(models, tmp_path, capsys):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "generator.h5").write_bytes((models / "generator.h5").read_bytes())
    cfg = json.loads((models / "config.json").read_text())
    cfg["representation"]["phrase_steps"] = 32
    (broken / "config.json").write_text(json.dumps(cfg))
    assert generate_main(["--chords", "C", "--models", str(broken), "--out", str(tmp_path / "x.mid")]) == 2
    assert "does not match" in capsys.readouterr().err


def test_wav_png_and_audition_page_from_generate(models, tmp_path, capsys):
    import wave

    from musicgan.cli import main

    assert _gen(models, tmp_path, "--chords", "Am F C G", "--bars", "2", "--num-samples", "2", "--wav", "--png") == 0
    for i in (1, 2):
        with wave.open(str(tmp_path / f"song_0{i}.wav")) as w:
            assert 2 * 4 * 0.6 <= w.getnframes() / w.getframerate() <= 2 * 4 * 0.6 + 2   # + release tail
        assert (tmp_path / f"song_0{i}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["audition", str(tmp_path)]) == 0
    page = (tmp_path / "index.html").read_text()
    assert page.count("<audio") == 2 and "Am F C G".replace(" ", " | ") in page


def test_a_generator_with_nan_weights_or_a_mistyped_config_is_refused(models, tmp_path, capsys):
    import h5py

    broken = tmp_path / "nan"
    shutil.copytree(models, broken, ignore=shutil.ignore_patterns("checkpoints", "samples", "logs", "best"))
    with h5py.File(broken / "generator.h5", "r+") as f:
        kernels = []
        f.visititems(lambda name, item: kernels.append(item) if name.endswith("kernel") else None)
        kernels[0][(0,) * kernels[0].ndim] = np.nan
    assert generate_main(["--chords", "C", "--models", str(broken), "--out", str(tmp_path / "x.mid")]) == 2
    err = capsys.readouterr().err
    assert "holds weights that are not numbers (NaN or infinite" in err and err.count("\n") == 1
    assert not (tmp_path / "x.mid").exists()
    cfg = json.loads((models / "config.json").read_text())
    cfg["model"]["width"] = "8"
    (broken / "config.json").write_text(json.dumps(cfg))
    assert generate_main(["--chords", "C", "--models", str(broken), "--out", str(tmp_path / "x.mid")]) == 2
    assert 'model.width must be a whole number, got "8"' in capsys.readouterr().err
    cfg = json.loads((models / "config.json").read_text())
    cfg["train"] = [1, 2]
    (broken / "config.json").write_text(json.dumps(cfg))
    assert generate_main(["--chords", "C", "--models", str(broken), "--out", str(tmp_path / "x.mid")]) == 2
    assert "train must be a JSON object of settings" in capsys.readouterr().err


def test_a_song_too_long_to_read_back_is_not_written(tmp_path):
    from musicgan.core.meter import FOUR_FOUR
    from musicgan.io.midi import MidiError, Song, make_track, max_bars, write_song

    bar = 4 * 60 / 120                                          # seconds at 120 bpm
    for bars, ok in ((max_bars(FOUR_FOUR), True), (max_bars(FOUR_FOUR) + 1, False)):
        song = Song([make_track("Melody", [(60, 0.0, 1.0), (62, (bars - 1) * bar, bars * bar)])], bpm=120.0)
        if ok:
            write_song(song, tmp_path / "long.mid")
            assert pretty_midi.PrettyMIDI(str(tmp_path / "long.mid")).get_end_time() == pytest.approx(bars * bar)
        else:
            with pytest.raises(MidiError, match="would not read back"):
                write_song(song, tmp_path / "longer.mid")
            assert not (tmp_path / "longer.mid").exists()


def test_a_damaged_generator_file_says_how_to_get_a_good_one(models, tmp_path, capsys):
    broken = tmp_path / "damaged"
    broken.mkdir()
    (broken / "generator.h5").write_bytes(b"not an HDF5 file")
    (broken / "config.json").write_text((models / "config.json").read_text())
    assert generate_main(["--chords", "C", "--models", str(broken), "--out", str(tmp_path / "x.mid")]) == 2
    err = capsys.readouterr().err
    assert "cannot load" in err and "--fresh" in err and err.count("\n") == 1


@pytest.mark.parametrize("which", ["tiny", "shipped"])
def test_numpy_forward_pass_matches_keras(models, which):
    from pathlib import Path

    from musicgan.models.files import load_generator
    from musicgan.models.numpy_runtime import NumpyGenerator

    folder = models if which == "tiny" else Path(__file__).resolve().parent.parent / "models" / "chorales"
    keras_model, cfg, _ = load_generator(folder, engine="keras")
    numpy_model, _, _ = load_generator(folder)
    assert isinstance(numpy_model, NumpyGenerator)
    assert [(i.name, tuple(i.shape)) for i in numpy_model.inputs] == [(i.name, tuple(i.shape)) for i in keras_model.inputs]
    rng = np.random.default_rng(0)
    n, rep = 5, cfg.representation
    inputs = [rng.standard_normal((n, cfg.model.latent)).astype(np.float32),
              rng.random((n, rep.phrase_slots, C.CONDITION_DIM)).astype(np.float32),
              rng.integers(0, C.VOCAB_SIZE, (n, rep.context_steps)).astype(np.int32)]
    expected = keras_model(inputs).numpy()
    gc.collect()
    got = numpy_model(inputs)
    assert gc.collect() == 0        # a call leaves no reference cycle holding its activations until the collector
    assert got.shape == expected.shape == (n, rep.phrase_steps, C.VOCAB_SIZE)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_a_layer_numpy_does_not_know_loads_with_keras(tmp_path):
    import keras

    from musicgan.models.files import _load
    from musicgan.models.numpy_runtime import NumpyGenerator, Unsupported

    x = keras.Input((4, 3), name="noise")
    model = keras.Model(x, keras.layers.LayerNormalization()(keras.layers.Dense(2)(x)))
    model.save(str(tmp_path / "g.h5"))
    with pytest.raises(Unsupported, match="LayerNormalization"):
        NumpyGenerator(tmp_path / "g.h5")
    assert isinstance(_load(tmp_path / "g.h5", "numpy"), keras.Model)


def test_generate_does_not_load_tensorflow(models, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys; from musicgan.cli import generate_main; "
            f"assert generate_main(['--chords', 'C G', '--bars', '2', '--models', {str(models)!r}, "
            f"'--out', {str(tmp_path / 's.mid')!r}]) == 0; "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_a_form_repeats_its_sections_and_the_song_ends_on_a_chord_tone(models, tmp_path):
    args = ["--chords", "A: C G Am F; B: F G | C C", "--form", "AABA", "--bpm", "120", "--seed", "3"]
    assert _gen(models, tmp_path, *args) == 0
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "song.mid"))
    assert pm.get_end_time() == pytest.approx(14 * 2.0)                  # 4 + 4 + 2 + 4 bars of 4/4
    notes = pm.instruments[0].notes

    def section(first_bar, bars):
        return [(round(n.start - first_bar * 2.0, 6), n.pitch) for n in notes
                if first_bar * 2.0 <= n.start < (first_bar + bars) * 2.0]

    assert section(0, 4) == section(4, 4) and section(0, 4)[:-1] == section(10, 4)[:-1]   # A A B A
    assert notes[-1].pitch % 12 in {0, 4, 7}                              # ends on a tone of C
    meta = json.loads((tmp_path / "song.json").read_text())
    assert (meta["form"], meta["bars"], meta["chords"]) == ("AABA", 14, "A: C | G | Am | F ; B: F G | C C")
    assert _gen(models, tmp_path / "v", *args, "--vary", "1") == 0
    varied = pretty_midi.PrettyMIDI(str(tmp_path / "v" / "song.mid")).instruments[0].notes
    second_a = [(n.start, n.pitch) for n in varied if 8 <= n.start < 16]     # the first A is as before,
    assert [(n.start, n.pitch) for n in varied if n.start < 8] == [(n.start, n.pitch) for n in notes if n.start < 8]
    assert second_a != [(n.start, n.pitch) for n in notes if 8 <= n.start < 16]   # its repeat is new


def test_form_errors_name_the_sections(models, tmp_path, capsys):
    for args, message in [(["--chords", "A: C G; B: F", "--form", "ABX"], "names X; the sections are A, B"),
                          (["--chords", "A: C G; F", ], "'F' has none (write 'B: F')"),
                          (["--chords", "C G", "--form", "AB"], "the progression has none"),
                          (["--chords", "A: C; B: G", "--vary", "2"], "--vary must be in [0, 1]")]:
        assert _gen(models, tmp_path, *args) == 2
        assert message in capsys.readouterr().err


def test_a_model_is_sampled_at_the_temperature_its_config_keeps_for_the_meter(models, tmp_path):
    own = tmp_path / "own"
    shutil.copytree(models, own, ignore=shutil.ignore_patterns("checkpoints", "logs", "samples", "best"))
    config = json.loads((own / "config.json").read_text())
    (own / "config.json").write_text(json.dumps(dict(config, temperature=1.0, meter_temperatures={"4/4": 0.0})))
    raw = {"temperature": 0.3, "meter_temperatures": {"2/4": 0.5}}
    assert (model_temperature(raw, Meter(2, 4)), model_temperature(raw, Meter(3, 4)), model_temperature(raw),
            model_temperature({}, Meter(2, 4))) == (0.5, 0.3, 0.3, 1.0)

    def melody(*extra):
        assert _gen(own, tmp_path, "--chords", "C G Am F", "--bars", "8", "--seed", "4", *extra) == 0
        meta = json.loads((tmp_path / "song.json").read_text())
        return [(n.pitch, n.start) for n in pretty_midi.PrettyMIDI(str(tmp_path / "song.mid")).instruments[0].notes], meta

    kept, meta = melody()
    assert meta["temperature"] == 0.0 and kept == melody("--temperature", "0")[0]
    assert kept != melody("--temperature", "1")[0]


def test_the_chord_weight_moves_the_odds_onto_the_chord_and_the_config_keeps_it_per_meter(models, tmp_path):
    features = np.zeros((1, 2, C.CONDITION_DIM), np.float32)
    features[0, 0, [0, 4, 7]] = 1                                  # C major, then no chord
    tones = chord_tones(features)                                  # (1, 4 steps, VOCAB)
    c4, d4 = (p - C.MIN_PITCH + C.FIRST_PITCH_TOKEN for p in (60, 62))
    assert tones[0, :2, c4].all() and not tones[0, :2, d4].any() and not tones[0, :, :C.FIRST_PITCH_TOKEN].any()
    assert not tones[0, 2:].any()
    probs = np.full((1, 4, C.VOCAB_SIZE), 1 / C.VOCAB_SIZE)
    pulled = chord_weighted(probs, tones, 1.0)
    assert pulled[0, 0, c4] / pulled[0, 0, d4] == pytest.approx(np.e) and np.allclose(pulled.sum(-1), 1)
    assert np.allclose(pulled[0, 2:], probs[0, 2:]) and chord_weighted(probs, tones, 0.0) is probs
    raw = {"chord_weight": 0.5, "meter_chord_weights": {"2/4": 1.5}}
    assert (model_chord_weight(raw, Meter(2, 4)), model_chord_weight(raw, Meter(3, 4)),
            model_chord_weight({}, Meter(2, 4))) == (1.5, 0.5, 0.0)

    own = tmp_path / "own"
    shutil.copytree(models, own, ignore=shutil.ignore_patterns("checkpoints", "logs", "samples", "best"))
    config = json.loads((own / "config.json").read_text())
    (own / "config.json").write_text(json.dumps(dict(config, meter_chord_weights={"4/4": 10.0})))

    def on_chord(*extra):
        assert _gen(own, tmp_path, "--chords", "C G Am F", "--bars", "8", "--bpm", "120", "--temperature", "1",
                    *extra) == 0
        chords = [{0, 4, 7}, {7, 11, 2}, {9, 0, 4}, {5, 9, 0}]
        notes = pretty_midi.PrettyMIDI(str(tmp_path / "song.mid")).instruments[0].notes
        meta = json.loads((tmp_path / "song.json").read_text())
        on = [n.pitch % 12 in chords[int(n.start // 2) % 4] for n in notes]          # 2 s a bar at 120 bpm
        return np.mean(on), meta["chord_weight"]

    assert on_chord() == (1.0, 10.0)                               # the config's: every note a chord tone
    own_odds, weight = on_chord("--chord-weight", "0")
    assert weight == 0.0 and own_odds < 0.9                        # the tiny network's own odds leave the chord


def test_a_meter_its_own_report_finds_weak_over_typed_progressions_is_named(models, tmp_path, capsys):
    mine = tmp_path / "mine"
    shutil.copytree(models, mine)
    bar = [{"check": "two-sample classifier accuracy <= 0.75", "ok": False}, {"check": "scale", "ok": True}]
    (mine / "evaluation.json").write_text(json.dumps({"meters": {"4/4": {"typed": {"bar": bar}}}}))
    assert _gen(mine, tmp_path, "--chords", "C G") == 0
    assert "in 4/4 this model misses 1 of the quality bar's 2 checks (two-sample" in capsys.readouterr().out
    (mine / "evaluation.json").write_text("{not json")            # a report it cannot read: no note, no error
    assert _gen(mine, tmp_path, "--chords", "C G") == 0
    assert "note:" not in capsys.readouterr().out
