"""The LSTM rival: numpy steps equal Keras, real training steps, resume, files of its kind, generation."""

import csv
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from musicgan.cli import generate_main, train_main
from musicgan.cli.train import build_train_parser, train_config
from musicgan.core import constants as C
from musicgan.core.config import ConfigError, ModelConfig
from musicgan.core.errors import ModelError
from musicgan.core.meter import FOUR_FOUR
from musicgan.data.corpus import prepare
from musicgan.data.pipeline import conditions
from musicgan.generate.sampling import (
    chord_tones,
    chord_weighted,
    generate_melodies,
    sample_steps,
)
from musicgan.harmony.chords import FEATURES
from musicgan.models import files, lstm
from musicgan.models.numpy_runtime import NumpyLSTM
from musicgan.train import loop as training
from musicgan.train.lstm import LSTMTrainer, step_inputs

from .test_training import corpus_dir, tiny_config  # noqa: F401 - corpus_dir is a fixture

TINY = ModelConfig(kind="lstm", lstm_units=8, lstm_layers=2)


def tiny_lstm_config(**train):
    return dataclasses.replace(tiny_config(**train), model=TINY)


def test_numpy_steps_equal_the_keras_network_and_its_h5(tmp_path):
    tf.keras.utils.set_random_seed(1)
    network = lstm.build_lstm(TINY)
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, C.VOCAB_SIZE, (3, 20)).astype(np.int32)
    cond = rng.random((3, 20, lstm.STEP_CONDITION_DIM)).astype(np.float32)
    expected = network([tokens, cond]).numpy()
    network.save(tmp_path / "lstm.h5")
    for runtime in (NumpyLSTM.from_keras(network, 16), NumpyLSTM.from_h5(tmp_path / "lstm.h5", 16)):
        state, got = runtime.initial_state(3), []
        for t in range(20):
            probs, state = runtime.step(tokens[:, t], runtime.conditions_part(cond[:, t]), state)
            got.append(probs)
        np.testing.assert_allclose(np.stack(got, 1), expected, atol=1e-5)


def test_greedy_sampling_reads_its_inputs_as_training_does():
    """Each token drawn at temperature 0 is the argmax of the training network's output over the same
    sequence (context REST-started, zero conditions, the slot's chord and parity): generation and training
    see the same inputs at every step."""
    tf.keras.utils.set_random_seed(2)
    network = lstm.build_lstm(TINY)
    ids = np.array([[k % 157 for k in range(3, 35)]] * 2)                  # 32 slots of varied chords
    cond = conditions(FEATURES[ids], FOUR_FOUR)
    previous = np.random.default_rng(3).integers(0, C.VOCAB_SIZE, (2, 16)).astype(np.int32)
    tokens = sample_steps(NumpyLSTM.from_keras(network, 16), cond, np.random.default_rng(0), previous, 0.0)
    tokens_in, step_cond = step_inputs(tf.constant(tokens), tf.constant(cond), tf.constant(previous))
    probs = network([tokens_in, step_cond]).numpy()[:, 16:]
    assert tokens.shape == (2, 64)
    np.testing.assert_array_equal(probs.argmax(-1), tokens)
    pulled = sample_steps(NumpyLSTM.from_keras(network, 16), cond, np.random.default_rng(0), previous, 0.0,
                          chord_weight=3.0)                    # each step pulled onto its own slot's chord
    tokens_in, _ = step_inputs(tf.constant(pulled), tf.constant(cond), tf.constant(previous))
    weighted = chord_weighted(network([tokens_in, step_cond]).numpy()[:, 16:], chord_tones(cond), 3.0)
    np.testing.assert_array_equal(weighted.argmax(-1), pulled)
    assert (pulled != tokens).any()


def test_a_step_is_finite_moves_the_weights_and_repeats_exactly(corpus_dir):  # noqa: F811
    cfg = tiny_lstm_config()
    rows = prepare(corpus_dir, progress=False, jobs=1).rows()
    runs = []
    for _ in range(2):
        trainer = LSTMTrainer(cfg)
        before = [w.numpy().copy() for w in trainer.network.weights]
        batch = next(iter(trainer.epoch_batches(rows, 0, 0)))
        out = trainer.train_batch(batch, 0)
        assert set(out) == {"loss", "accuracy"} and np.isfinite(out["loss"]) and 0 <= out["accuracy"] <= 1
        assert out["loss"] == pytest.approx(np.log(C.VOCAB_SIZE), rel=0.1)       # untrained: near uniform
        assert all(not np.array_equal(b, w.numpy()) for b, w in zip(before, trainer.network.weights))
        runs.append([w.numpy() for w in trainer.network.weights])
    for a, b in zip(*runs):                   # the same seed draws the same weights and dropout masks
        np.testing.assert_array_equal(a, b)


def test_train_resume_files_and_generation(corpus_dir, tmp_path, tiny_models, capsys):  # noqa: F811
    straight = training.train(tiny_lstm_config(epochs=2), corpus_dir, tmp_path / "a", progress=False, print_fn=str)
    training.train(tiny_lstm_config(epochs=1), corpus_dir, tmp_path / "b", progress=False, print_fn=str)
    resumed = training.train(tiny_lstm_config(epochs=2), corpus_dir, tmp_path / "b", resume=True, progress=False,
                             print_fn=str)
    for a, b in zip(straight.network.weights, resumed.network.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)
    folder = tmp_path / "b"
    log = list(csv.DictReader((folder / "training_log.csv").read_text().splitlines()))
    assert [r["epoch"] for r in log] == ["1", "2"] and all(float(r["loss"]) > 0 for r in log)
    assert {"lstm.h5", "config.json", "checkpoints", "samples", "best"} <= {p.name for p in folder.iterdir()}
    assert not (folder / "generator.h5").exists()
    assert json.loads((folder / "config.json").read_text())["model"]["kind"] == "lstm"
    # the saved file generates as the trained network does
    model, _, _ = files.load_model(folder, "lstm")
    ids = np.full(32, 1)
    a = generate_melodies(model, FEATURES[ids], FOUR_FOUR, 2, seed=5)[0]
    b = generate_melodies(resumed.exported()[0], FEATURES[ids], FOUR_FOUR, 2, seed=5)[0]
    np.testing.assert_array_equal(a, b)
    # a folder of the other kind is one line saying which it is and how to get the right one
    with pytest.raises(ModelError, match=r"holds an LSTM .*where a GAN is expected: train one with `python train.py "
                                         r"--models DIR`"):
        files.load_generator(folder)
    with pytest.raises(ModelError, match=r"holds a GAN .*where an LSTM is expected: .*--model lstm"):
        files.load_model(tiny_models, "lstm")
    assert generate_main(["--models", str(folder), "--chords", "C G Am F", "--bars", "16", "--temperature", "0.8",
                          "--out", str(tmp_path / "out" / "song.mid")]) == 0
    meta = json.loads((tmp_path / "out" / "song.json").read_text())
    assert meta["bars"] == 16 and (tmp_path / "out" / "song.mid").stat().st_size > 100
    assert generate_main(["--models", str(tiny_models), "--chords", "C", "--out", str(tmp_path / "g.mid")]) == 0
    capsys.readouterr()
    code = ("import sys; from musicgan.cli import generate_main; "
            f"assert generate_main(['--chords', 'C G', '--models', {str(folder)!r}, '--out', {str(tmp_path / 's.mid')!r}])"
            " == 0; print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent).stdout
    assert out.strip().splitlines()[-1] == "[]"              # an LSTM generates without TensorFlow too


def test_the_command_line_picks_the_model_kind(tmp_path, capsys):
    args = build_train_parser().parse_args(["--model", "lstm"])
    assert train_config(args).model.kind == "lstm"
    assert train_config(build_train_parser().parse_args([])).model.kind == "gan"
    assert train_main(["--model", "lstm", "--dp", "--models", str(tmp_path)]) == 2
    assert "train it without --dp" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="model kind must be one of gan, lstm"):
        ModelConfig(kind="rnn")


def test_evaluate_finds_the_lstm_beside_the_gan_and_scores_it_as_a_row(tiny_models, tmp_path, monkeypatch):
    import shutil

    from musicgan.cli import main
    from musicgan.evaluate import classifier

    monkeypatch.setattr(classifier, "UPDATES", 10)      # its power is tests/test_metrics.py's, as in test_evaluate

    models = tmp_path / "models"
    shutil.copytree(tiny_models, models, ignore=shutil.ignore_patterns("checkpoints", "logs", "samples", "best"))
    midi = tiny_models.parent / "midi"
    training.train(tiny_lstm_config(epochs=1), midi, models / "lstm", progress=False, print_fn=str, jobs=1)
    (tmp_path / "progs.txt").write_text("C G Am F\n")
    out = tmp_path / "report.json"
    assert main(["evaluate", "--models", str(models), "--data", str(midi), "--out", str(out), "--seeds", "2",
                 "--windows", "16", "--progressions", str(tmp_path / "progs.txt")]) == 0
    report = json.loads(out.read_text())
    for rows in (report["rows"], report["typed"]["rows"], report["meters"]["4/4"]["typed"]["rows"]):
        assert list(rows)[:3] == ["real (held out)", "model", "lstm"] and list(rows)[-1] == "markov (chords)"
        assert 0 <= rows["lstm"]["classifier_accuracy"] <= 1 and np.isfinite(rows["lstm"]["distance"])
        assert rows["lstm"] != rows["model"]
    # an LSTM on another split is named, since it may have trained on the songs judged
    _, gan_cfg, raw = files.load_generator(models)
    _, lstm_cfg, lstm_raw = files.load_model(models / "lstm", "lstm")
    from musicgan.evaluate.report import rival_differs

    assert rival_differs(gan_cfg, raw, lstm_cfg, lstm_raw) == []
    other = dataclasses.replace(lstm_cfg, train=dataclasses.replace(lstm_cfg.train, holdout_by="song"))
    assert "it may have trained on the songs judged here" in rival_differs(gan_cfg, raw, other, lstm_raw)[0]
