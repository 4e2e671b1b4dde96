import json
import shutil

import numpy as np
import pytest

from musicgan.cli import main
from musicgan.core import constants as C
from musicgan.core.config import Config, load_config, save_config
from musicgan.core.meter import FOUR_FOUR
from musicgan.data.corpus import fingerprint
from musicgan.evaluate import classifier
from musicgan.evaluate import report as evaluate
from musicgan.evaluate.typed import in_any_key
from musicgan.harmony import progression


@pytest.fixture(autouse=True)
def quick_classifier(monkeypatch):
    """The whole report, with a two-sample classifier of 10 updates: its power is tests/test_metrics.py's."""
    monkeypatch.setattr(classifier, "UPDATES", 10)


def test_evaluate_runs_end_to_end_on_a_tiny_model(tiny_models, tmp_path, capsys):
    out = tmp_path / "report.json"
    assert main(["evaluate", "--models", str(tiny_models), "--data", str(tiny_models.parent / "midi"),
                 "--out", str(out), "--seeds", "2", "--windows", "16"]) == 0
    printed = capsys.readouterr().out
    assert "no held-out songs" in printed and "quality bar for the model" in printed
    report = json.loads(out.read_text())
    assert list(report["rows"]) == ["real (held out)", "model", "uniform random", "random in key",
                                    "random chord tones", "markov", "markov (chords)"]
    assert report["rows"]["real (held out)"]["distance"] == 0.0
    assert all(np.isfinite(row["chord_tone_ratio"]) for row in report["rows"].values())
    assert len(report["bar"]) == 13 and ["spread" in c for c in report["bar"][:3]] == [True, True, False]
    assert list(report["meters"]) == ["4/4"] and report["meters"]["4/4"]["rows"] == report["rows"]
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


def test_evaluating_on_another_corpus_than_the_model_s_warns(tiny_models, tmp_path, monkeypatch):
    from .conftest import write_midi

    trained_on = json.loads((tiny_models / "config.json").read_text())["corpus"]
    assert trained_on["files"] == 3 and trained_on["path"] == str((tiny_models.parent / "midi").resolve())
    other = tmp_path / "other"
    for i in range(3):
        write_midi(other / f"t{i}.mid", bars=8, pitch_shift=2)
    said = []

    class Scoring(Exception):
        pass

    def scoring(*args, **kwargs):                       # stop where scoring would begin
        raise Scoring

    monkeypatch.setattr(evaluate, "CopyFinder", scoring)
    with pytest.raises(Scoring):
        evaluate.evaluate(tiny_models, other, seeds=2, max_windows=4, print_fn=said.append)
    assert said[0].startswith(f"warning: --data {other} is not the corpus this model was trained on (3 MIDI files "
                              f"under {trained_on['path']}; here 3, other names or sizes)")
    said.clear()
    with pytest.raises(Scoring):
        evaluate.evaluate(tiny_models, tiny_models.parent / "midi", seeds=2, max_windows=4, print_fn=said.append)
    assert not [s for s in said if "not the corpus" in s]
    moved = tmp_path / "moved"                          # the same corpus elsewhere is the same corpus
    shutil.copytree(tiny_models.parent / "midi", moved, ignore=shutil.ignore_patterns("cache"))
    assert evaluate.other_corpus(trained_on, fingerprint(moved, [str(p) for p in sorted(moved.glob("*.mid"))]),
                                 moved) is None


def test_bar_checks_follow_the_rows():
    real = {k: 1.0 for k in evaluate.COLUMNS} | {"diversity": 0.6, "classifier_accuracy": 0.5}
    good = dict(real, leap_rate=0.0, empty_bar_rate=0.0, fragment_rate=0.0, copy_rate=0.0,
                scale_consistency=0.95, classifier_accuracy=0.6)
    real.update(leap_rate=0.0, empty_bar_rate=0.0, fragment_rate=0.0, copy_rate=0.0)
    markov = {k: 3.0 for k in evaluate.COLUMNS}

    def failed(model, real=real):
        return [c["check"] for c in evaluate.check_bar({"real (held out)": real, "model": model, "markov": markov})
                if not c["ok"]]

    assert failed(good) == []
    assert failed(dict(good, chord_tone_ratio=0.5, copy_rate=0.2, fragment_rate=0.03)) == [
        "chord-tone ratio >= corpus - 0.05", "16th-note fragments <= corpus + 2%",
        "samples copying >= 2 bars <= 5% or the held-out songs' share"]
    reels = dict(real, fragment_rate=0.5, copy_rate=0.4)      # a corpus in 16ths whose tunes share bars
    assert failed(dict(good, fragment_rate=0.51, copy_rate=0.3), reels) == []
    assert failed(dict(reels, classifier_accuracy=0.5), reels) == []       # the corpus meets its own bar


def test_a_rival_is_judged_by_the_same_bar_and_its_misses_are_printed():
    real = {k: 1.0 for k in evaluate.COLUMNS} | {"diversity": 0.6, "classifier_accuracy": 0.5, "leap_rate": 0.0,
                                                 "empty_bar_rate": 0.0, "fragment_rate": 0.0, "copy_rate": 0.0}
    model = dict(real, scale_consistency=0.95, classifier_accuracy=0.6)
    rows = {"real (held out)": real, "model": model, "lstm": dict(model, fragment_rate=0.1),
            "markov": {k: 3.0 for k in evaluate.COLUMNS}}
    part = {"rows": rows, **evaluate.bars(rows, spread=[0.004, 0.005])}
    assert [c["ok"] for c in part["rival_bars"]["lstm"]].count(False) == 1
    assert "spread" in part["bar"][0] and not any("spread" in c for c in part["rival_bars"]["lstm"])
    printed = "\n".join(evaluate._table(part, "4/4"))
    assert "quality bar for the model: 13/13 met" in printed
    assert "the same bar for lstm: 12/13 met; misses 16th-note fragments <= corpus + 2%" in printed
    del rows["lstm"]
    assert evaluate.bars(rows)["rival_bars"] == {}


def test_evaluate_names_a_missing_model(tmp_path, capsys):
    assert main(["evaluate", "--models", str(tmp_path / "none")]) == 2
    assert "python train.py --models" in capsys.readouterr().err


def test_a_model_is_judged_on_the_split_it_was_trained_with(tmp_path):
    save_config(tmp_path, Config())
    assert load_config(tmp_path)[0].train.holdout_by == "tune"
    saved = json.loads((tmp_path / "config.json").read_text())
    del saved["train"]["holdout_by"]                    # a model trained before tune families
    (tmp_path / "config.json").write_text(json.dumps(saved))
    assert load_config(tmp_path)[0].train.holdout_by == "song"


def test_chord_tone_spread_is_zero_for_the_real_melodies_and_grows_with_songs_that_differ():
    rng = np.random.default_rng(0)
    c_then_g = np.repeat([progression.parse_chord("C").id, progression.parse_chord("G").id], 16)   # 32 slots
    melody = np.full((40, 64), C.HOLD, np.uint8)
    melody[:, ::4] = C.FIRST_PITCH_TOKEN + 12                      # C4 on every beat: half on chord tones
    windows = {"melody": melody, "chords": np.tile(c_then_g, (40, 1)), "song": np.repeat(np.arange(10), 4)}
    same = np.repeat(melody[:, None], 2, 1)                        # (windows, seeds, steps)
    assert evaluate.chord_tone_spread(windows, same, False, rng, FOUR_FOUR) == 0.0
    mixed = same.copy()
    mixed[20:, :, ::4] = C.FIRST_PITCH_TOKEN + 13                  # C#: on no chord, in 5 of the 10 songs
    assert 0.05 < evaluate.chord_tone_spread(windows, mixed, False, rng, FOUR_FOUR) < 0.3


def test_typed_melodies_meet_the_classifier_in_every_key_with_their_steps_kept():
    c_major = np.array([C.FIRST_PITCH_TOKEN + 60 - C.MIN_PITCH + d for d in (0, 2, 4, 5, 7)])
    tune = np.tile(np.concatenate([c_major, [C.HOLD, C.REST]]), (400, 1))
    top = np.full((1, 7), C.VOCAB_SIZE - 1)                       # the highest pitch: only down is possible
    moved = in_any_key(np.concatenate([tune, top]), np.random.default_rng(0))
    assert len(np.unique(moved[:-1, 0])) == 12                   # all twelve keys
    assert (np.diff(moved[:-1, :5].astype(int)) == np.diff(c_major)).all()
    assert (moved[:-1, 5:] == [C.HOLD, C.REST]).all() and moved[-1, 0] <= C.VOCAB_SIZE - 1


def test_typed_progressions_are_judged_per_meter_with_the_same_rows(tiny_models, tmp_path, capsys):
    (tmp_path / "progs.txt").write_text("# one chord a bar\nC G Am F\nDm G7 C C  # a cadence\n")
    out = tmp_path / "typed.json"
    assert main(["evaluate", "--models", str(tiny_models), "--data", str(tiny_models.parent / "midi"),
                 "--out", str(out), "--seeds", "2", "--windows", "16", "--progressions",
                 str(tmp_path / "progs.txt")]) == 0
    report = json.loads(out.read_text())
    assert report["typed"]["progressions"] == ["C G Am F", "Dm G7 C C"]
    typed = report["meters"]["4/4"]["typed"]["rows"]
    assert list(typed) == list(report["rows"]) and len(report["typed"]["bar"]) == 13
    assert typed["random chord tones"]["chord_tone_ratio"] > 0.95 > typed["uniform random"]["chord_tone_ratio"]
    assert "4/4 typed" in capsys.readouterr().out
    (tmp_path / "empty.txt").write_text("# nothing\n")
    assert main(["evaluate", "--models", str(tiny_models), "--progressions", str(tmp_path / "empty.txt")]) == 2
