import csv
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from musicgan.cli import train_main
from musicgan.core.config import Config, ModelConfig, PrivacyConfig, TrainConfig
from musicgan.core.errors import ConfigError
from musicgan.data.corpus import prepare
from musicgan.models import losses
from musicgan.train import hooks, privacy, trainer
from musicgan.train import loop as training

from .conftest import write_midi


def tiny_config(**train):
    """A width-8 model in float32: tests compare runs to float32 rounding (bfloat16's own: test_speed.py)."""
    return Config(model=ModelConfig(latent=4, width=8, embed=2),
                  train=TrainConfig(**{"epochs": 2, "batch_size": 16, "save_every": 1, "sample_every": 1,
                                       "precision": "float32", **train}))


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("midi")
    for i in range(2):
        write_midi(root / f"s{i}.mid", bars=8)
    prepare(root, progress=False, jobs=1)          # warm the cache once for every test
    return root


def _batch(corpus_dir, n=8, cfg=None):
    """(melody, chords, previous) of n phrases, and with cfg also the iteration's noise."""
    rows = prepare(corpus_dir, progress=False, jobs=1).rows()
    batch = next(privacy.batches(rows, [np.arange(n)]))
    return batch if cfg is None else (*batch, trainer.batch_noise(cfg, n, tf.constant([0, 0], tf.int64)))


def _weights(model):
    return [w.numpy().copy() for w in model.weights]


def _changed(before, model):
    return any(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.weights))


@pytest.mark.parametrize("loss", ["nonsaturating", "wgan-gp"])
def test_each_step_is_finite_and_moves_only_its_network(corpus_dir, loss):
    gan = trainer.GAN(tiny_config(loss=loss))
    batch = _batch(corpus_dir, cfg=gan.cfg)
    g0, d0 = _weights(gan.generator), _weights(gan.discriminator)
    out = gan.d_step(batch)
    assert all(np.isfinite(float(v)) for v in out.values())
    assert _changed(d0, gan.discriminator) and not _changed(g0, gan.generator)
    d1 = _weights(gan.discriminator)
    out = gan.g_step(batch)
    assert np.isfinite(float(out["g_loss"]))
    assert _changed(g0, gan.generator) and not _changed(d1, gan.discriminator)


def test_mode_seeking_charges_a_generator_that_ignores_its_noise(corpus_dir):
    same, apart = tf.one_hot(np.zeros((1, 4), int), 39), tf.one_hot(np.ones((1, 4), int), 39)
    probs, latent, other_latent = tf.concat([same, same], 0), tf.zeros((2, 3)), tf.fill((2, 3), 2.0)
    term = losses.mode_seeking(probs, tf.concat([same, apart], 0), latent, other_latent).numpy()
    assert term[0] > 1e4                                  # one melody whatever the noise
    np.testing.assert_allclose(term[1], 1 / (2 / 2 + 1e-5), rtol=1e-6)   # L1 2 a step, noises 2 apart
    gan = trainer.GAN(tiny_config(mode_seeking=1.0))
    batch = _batch(corpus_dir, cfg=gan.cfg)
    assert "g_other_latent" in batch[-1] and "g_other_latent" not in _batch(corpus_dir, cfg=tiny_config())[-1]
    plain = trainer.GAN(tiny_config())
    plain.generator.set_weights(gan.generator.get_weights())
    plain.discriminator.set_weights(gan.discriminator.get_weights())
    g0 = _weights(gan.generator)
    charged = float(gan.g_step(batch)["g_loss"])
    assert _changed(g0, gan.generator)
    assert charged > float(plain.g_step(batch)["g_loss"]) + 0.1     # the term is positive, about 1 here
    with pytest.raises(ConfigError, match="mode_seeking must be >= 0"):
        tiny_config(mode_seeking=-1.0)


def test_d_judges_melodies_drawn_at_the_sample_temperature(corpus_dir):
    """A Gumbel-max draw from probs^(1/T): at T -> 0, and at 0, the most likely token, whatever the noise."""
    _, chords, prev = _batch(corpus_dir)
    latent = tf.random.stateless_normal([8, 4], [1, 2])
    uniform = tf.random.stateless_uniform([8, 64, 39], [3, 4], 1e-9, 1)
    drawn = {}
    for t in (1.0, 0.5, 1e-6):
        gan = trainer.GAN(tiny_config(sample_temperature=t, seed=7))
        probs = gan.generator([latent, chords, prev]).numpy()
        drawn[t] = np.argmax(gan.fake_melody(chords, prev, latent, uniform).numpy(), -1)
        want = np.argmax(np.log(probs + 1e-9) / t - np.log(-np.log(uniform.numpy())), -1)
        assert (drawn[t] == want).mean() > 0.999          # float32 ties aside
    assert (drawn[1e-6] == np.argmax(probs, -1)).mean() > 0.999
    assert (drawn[1.0] != drawn[0.5]).any()
    argmax = trainer.GAN(tiny_config(sample_temperature=0.0, seed=7))      # no draw: the most likely, exactly
    np.testing.assert_array_equal(np.argmax(argmax.fake_melody(chords, prev, latent, uniform).numpy(), -1),
                                  np.argmax(argmax.generator([latent, chords, prev]).numpy(), -1))


def test_d_steps_ratio_skips_generator_steps(corpus_dir):
    gan = trainer.GAN(tiny_config(d_steps=2))
    batch = _batch(corpus_dir, cfg=gan.cfg)
    assert "g_loss" in gan.train_batch(batch, step=0)
    assert "g_loss" not in gan.train_batch(batch, step=1)


def test_the_generator_average_follows_each_g_step_and_is_what_is_exported(corpus_dir, tmp_path):
    gan = trainer.GAN(tiny_config(generator_average=0.75, d_steps=2))
    batch = _batch(corpus_dir, cfg=gan.cfg)
    gan.train_batch(batch, step=0)                      # the first G step: the average is G
    want = _weights(gan.generator)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(want, gan.average.weights))
    gan.train_batch(batch, step=1)                      # a D step alone leaves the average
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(want, gan.average.weights))
    for step in (2, 4):
        gan.train_batch(batch, step=step)
        want = [0.75 * a + 0.25 * g for a, g in zip(want, _weights(gan.generator))]
    assert int(gan.averaged_steps) == 3
    for a, w in zip(want, gan.average.weights):
        np.testing.assert_allclose(w.numpy(), a, rtol=1e-6, atol=1e-7)
    assert _changed(want, gan.generator)                # G itself moved on; the average trails it
    hooks.save_models(gan, tmp_path, gan.cfg, {})
    saved = keras.models.load_model(tmp_path / "generator.h5", compile=False)
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(gan.average.weights, saved.weights))
    with pytest.raises(ConfigError, match=r"generator_average must be in \[0, 1\)"):
        tiny_config(generator_average=1.0)


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_h5_round_trip_gives_identical_outputs(corpus_dir, tmp_path, precision):
    cfg = tiny_config(precision=precision)
    gan = trainer.GAN(cfg)
    hooks.save_models(gan, tmp_path, cfg, {})
    mel, chords, prev = _batch(corpus_dir, 4)
    noise = tf.random.normal((4, cfg.model.latent))
    generator, discriminator = gan.exported()      # float32 whatever the training precision
    for name, model, trained, inputs in (
            ("generator", generator, gan.generator, [noise, chords, prev]),
            ("discriminator", discriminator, gan.discriminator, [tf.one_hot(mel, 39), chords, prev])):
        loaded = keras.models.load_model(tmp_path / f"{name}.h5", compile=False)
        np.testing.assert_array_equal(model(inputs).numpy(), loaded(inputs).numpy())
        assert {layer.dtype_policy.name for layer in loaded.layers} == {"float32"}
        assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(trained.weights, loaded.weights))
        if precision == "bfloat16":      # the same network: 16-bit arithmetic moves its outputs a little
            np.testing.assert_allclose(trained(inputs).numpy(), loaded(inputs).numpy(), atol=0.05)
    gan_model = keras.models.load_model(tmp_path / "gan.h5", compile=False)
    assert [i.name for i in gan_model.inputs] == ["noise", "chords", "previous"]
    assert json.loads((tmp_path / "config.json").read_text())["model"]["width"] == 8


def test_the_critic_reads_the_batch_spread_when_asked(corpus_dir, tmp_path):
    cfg = Config(model=ModelConfig(latent=4, width=8, embed=2, minibatch_std=True),
                 train=TrainConfig(epochs=1, batch_size=8, precision="float32"))
    gan = trainer.GAN(cfg)
    batch = _batch(corpus_dir, cfg=cfg)
    assert all(np.isfinite(float(v)) for v in gan.train_batch(batch, step=0).values())
    mel, chords, prev = batch[:3]
    spread = keras.Model(gan.discriminator.inputs, gan.discriminator.get_layer("d_batch_spread").output)
    varied = spread([tf.one_hot(mel, 39), chords, prev]).numpy()[..., -1]
    copies = spread([tf.one_hot(tf.repeat(mel[:1], 8, 0), 39), tf.repeat(chords[:1], 8, 0),
                     tf.repeat(prev[:1], 8, 0)]).numpy()[..., -1]          # 8 copies of one phrase
    assert varied.min() > 0.01 and np.allclose(copies, 1e-4, atol=1e-5)   # sqrt of the 1e-8 floor
    hooks.save_models(gan, tmp_path, cfg, {})          # saved and read back as --init-from reads it
    loaded = keras.models.load_model(tmp_path / "discriminator.h5", compile=False)
    inputs = [tf.one_hot(mel, 39), chords, prev]
    np.testing.assert_allclose(loaded(inputs).numpy(), gan.exported()[1](inputs).numpy(), rtol=1e-6)
    with pytest.raises(ConfigError, match="minibatch_std"):
        Config(model=ModelConfig(minibatch_std=True), privacy=PrivacyConfig(dp=True))


def test_the_critic_reads_the_sounding_pitch_through_holds_and_rests(corpus_dir, tmp_path):
    from musicgan.core import constants as C
    from musicgan.models.gan import SoundingPitch

    low, high = C.FIRST_PITCH_TOKEN, C.FIRST_PITCH_TOKEN + 24            # two octaves apart
    prev = np.array([[C.REST, low, C.HOLD]])
    melody = np.eye(39, dtype=np.float32)[[[C.HOLD, high, C.HOLD, C.HOLD, C.REST, C.HOLD, low]]]
    sounding = SoundingPitch()([melody, prev]).numpy()[0, :, 0]
    np.testing.assert_allclose(sounding - sounding[0], [0, 2, 2, 2, -sounding[0], -sounding[0], 0], atol=1e-6)
    melody[0, 2] = 0.5 * (melody[0, 2] + melody[0, 4])    # half a hold, half a rest: half the pitch goes on
    np.testing.assert_allclose(SoundingPitch()([melody, prev]).numpy()[0, 2:4, 0], 0.5 * sounding[2:4], atol=1e-6)

    cfg = Config(model=ModelConfig(latent=4, width=8, embed=2, sounding_pitch=True),
                 train=TrainConfig(epochs=1, batch_size=8, precision="bfloat16"))
    gan = trainer.GAN(cfg)
    assert all(np.isfinite(float(v)) for v in gan.train_batch(_batch(corpus_dir, cfg=cfg), step=0).values())
    hooks.save_models(gan, tmp_path, cfg, {})          # saved and read back as --init-from reads it
    loaded = keras.models.load_model(tmp_path / "discriminator.h5", compile=False)
    mel, chords, prev = _batch(corpus_dir)
    inputs = [tf.one_hot(mel, 39), chords, prev]
    np.testing.assert_allclose(loaded(inputs).numpy(), gan.exported()[1](inputs).numpy(), rtol=1e-6)


def test_scrambled_negatives_keep_the_rhythm_and_join_the_fakes(corpus_dir):
    from musicgan.core import constants as C

    mel, chords, prev = _batch(corpus_dir)
    uniform = tf.random.stateless_uniform((*mel.shape, 15), [1, 2])
    scrambled = trainer.scramble_onsets(mel, uniform).numpy()
    arpeggio = trainer.scramble("chord_tones", mel, uniform, chords).numpy()
    leaps = trainer.scramble("leaps", mel, uniform, chords).numpy()
    mel = mel.numpy()
    onset = mel >= C.FIRST_PITCH_TOKEN
    for changed in (scrambled, arpeggio, leaps):        # the rhythm stays
        assert (changed[~onset] == mel[~onset]).all() and ((changed >= C.FIRST_PITCH_TOKEN) == onset).all()
    assert all(sorted(a[o]) == sorted(b[o]) for a, b, o in zip(scrambled, mel, onset))   # the pitches too
    assert (scrambled != mel).any()                      # the order moved
    tones = np.repeat(chords.numpy()[..., :12] > 0.5, 2, 1)          # each step's chord's pitch classes
    moved = onset & tones.any(-1)

    def pitch_and_tone(tokens):
        pitch = tokens.astype(int) - C.FIRST_PITCH_TOKEN
        return pitch, np.take_along_axis(tones, ((pitch + C.MIN_PITCH) % 12)[..., None], -1)[..., 0]

    pitch, was_tone = pitch_and_tone(mel)
    arpeggio_pitch, arpeggio_tone = pitch_and_tone(arpeggio)
    assert arpeggio_tone[moved].all()                                    # chord tones only
    assert np.abs(arpeggio_pitch - pitch)[moved].max() <= 7 and (arpeggio != mel).any()
    leap_pitch, leap_tone = pitch_and_tone(leaps)                        # a chord tone exactly when it was one,
    assert (leap_tone == was_tone)[moved].all() and not was_tone[moved].all()   # every note moved, within 7
    assert (leaps != mel)[moved].all() and np.abs(leap_pitch - pitch)[moved].max() <= 7
    no_chords = tf.zeros_like(chords)                                    # no chord: the notes stay
    assert (trainer.scramble("leaps", tf.constant(mel), uniform, no_chords).numpy() == mel).all()

    for kind in ("order", "chord_tones", "leaps"):
        plain, mixed = tiny_config(), tiny_config(scrambled_negatives=0.5, scramble=kind)
        noise = trainer.batch_noise(mixed, 8, tf.constant([0, 0], tf.int64))
        assert set(noise) - set(trainer.batch_noise(plain, 8, tf.constant([0, 0], tf.int64))) == {"scramble"}
        loss = {}
        for name, cfg in (("plain", plain), ("mixed", mixed)):
            gan = trainer.GAN(cfg)                        # the same seed: the same networks
            fake = gan.fake_melody(chords, prev, noise["d_latent"], noise["d_uniform"])
            negatives = tf.one_hot(trainer.scramble(kind, tf.constant(mel), noise["scramble"], chords), 39)
            on = {k: float(tf.reduce_mean(gan.discriminator([x, chords, prev]))) for k, x in
                  (("fake", fake), ("negatives", negatives))}
            loss[name] = float(gan.d_step_eager((tf.constant(mel), chords, prev, noise))["d_loss"])   # before its update
        # wgan-gp: the fake term is half G's melodies, half the scrambled ones; the rest as it was
        assert loss["mixed"] == pytest.approx(loss["plain"] + 0.5 * (on["negatives"] - on["fake"]), abs=1e-5)
        assert on["negatives"] != on["fake"]
    with pytest.raises(ConfigError, match="scrambled_negatives"):
        Config(train=TrainConfig(scrambled_negatives=0.2), privacy=PrivacyConfig(dp=True))
    with pytest.raises(ConfigError, match="scramble must be one of order, chord_tones, leaps"):
        TrainConfig(scramble="pitches")


def test_resume_equals_a_straight_run(corpus_dir, tmp_path):
    straight = training.train(tiny_config(epochs=2), corpus_dir, tmp_path / "a", progress=False, print_fn=str)
    training.train(tiny_config(epochs=1), corpus_dir, tmp_path / "b", progress=False, print_fn=str)
    resumed = training.train(tiny_config(epochs=2), corpus_dir, tmp_path / "b", resume=True, progress=False,
                             print_fn=str)
    for a, b in zip(straight.generator.weights + straight.discriminator.weights,
                    resumed.generator.weights + resumed.discriminator.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)
    log = list(csv.DictReader((tmp_path / "b" / "training_log.csv").read_text().splitlines()))
    assert [r["epoch"] for r in log] == ["1", "2"]
    assert {p.name for p in (tmp_path / "b").iterdir()} >= {"generator.h5", "discriminator.h5", "gan.h5",
                                                            "config.json", "checkpoints", "samples", "logs"}
    assert len(list((tmp_path / "b" / "samples").glob("epoch0002_*.mid"))) == 3


def test_resume_refuses_another_config_and_a_second_start(corpus_dir, tmp_path):
    training.train(tiny_config(epochs=1), corpus_dir, tmp_path, progress=False, print_fn=str)
    with pytest.raises(trainer.TrainingError, match=r"train.batch_size: checkpoint 16, now 8"):
        training.train(tiny_config(epochs=2, batch_size=8), corpus_dir, tmp_path, resume=True, progress=False)
    with pytest.raises(trainer.TrainingError, match="--resume"):
        training.train(tiny_config(epochs=2), corpus_dir, tmp_path, progress=False)


def test_diverging_loss_stops_and_keeps_the_last_checkpoint(corpus_dir, tmp_path, monkeypatch):
    training.train(tiny_config(epochs=1), corpus_dir, tmp_path, progress=False, print_fn=str)
    monkeypatch.setattr(trainer.GAN, "train_batch", lambda self, batch, step, eager=False: {"d_loss": float("nan")})
    with pytest.raises(trainer.TrainingError, match="d_loss is nan at epoch 2, iteration 1: training diverged; the "
                       "checkpoint after epoch 1 is kept in .*, but resuming repeats the same steps. Start over with "
                       "--fresh and lower learning rates"):
        training.train(tiny_config(epochs=2), corpus_dir, tmp_path, resume=True, progress=False, print_fn=str)
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("-1")
    said = []                     # before any checkpoint: --resume starts, and the message promises none
    with pytest.raises(trainer.TrainingError, match="at epoch 1, iteration 1: training diverged; no checkpoint was "
                       "written. Start over"):
        training.train(tiny_config(), corpus_dir, tmp_path / "empty", resume=True, progress=False, print_fn=said.append)
    assert f"nothing to resume in {tmp_path / 'empty' / 'checkpoints'} yet: starting from epoch 1" in said


def test_a_save_that_dies_half_way_leaves_the_old_files(corpus_dir, tmp_path, monkeypatch):
    cfg = tiny_config()
    gan = trainer.GAN(cfg)
    hooks.save_models(gan, tmp_path, cfg, {"epochs_trained": 1})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def dying_save(self, path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"half an HDF5 file")
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save", dying_save)
    with pytest.raises(OSError, match="disk full"):
        hooks.save_models(gan, tmp_path, cfg, {"epochs_trained": 2})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_batch_summary_and_lr_scaling():
    cfg = Config(train=TrainConfig(batch_size=256, lr_scaling="linear", reference_batch=64, epochs=3))
    s = training.batch_summary(cfg, 1000)
    assert (s["iterations_per_epoch"], s["total_steps"], s["g_lr"]) == (4, 12, pytest.approx(4e-4))
    assert "ceil(N/B)" in training.format_batch_summary(s)
    sqrt = Config(train=TrainConfig(batch_size=256, lr_scaling="sqrt", drop_remainder=True))
    s = training.batch_summary(sqrt, 1000)
    assert s["iterations_per_epoch"] == 3 and s["d_lr"] == pytest.approx(2e-4)
    assert "floor(N/B)" in training.format_batch_summary(s)
    gan = trainer.GAN(Config(model=ModelConfig(latent=4, width=8, embed=2),
                              train=TrainConfig(batch_size=256, lr_scaling="linear", warmup_epochs=1)))
    gan.set_learning_rates(step=0, iters_per_epoch=4)
    assert float(gan.g_opt.learning_rate) == pytest.approx(1e-4 * (1 + 3 * 0.25))
    gan.set_learning_rates(step=10, iters_per_epoch=4)
    assert float(gan.g_opt.learning_rate) == pytest.approx(4e-4)


def test_train_command_line(corpus_dir, tmp_path, capsys):
    overrides = tmp_path / "o.json"
    overrides.write_text(json.dumps({"model": {"latent": 4, "width": 8, "embed": 2}}))
    code = train_main(["--data", str(corpus_dir), "--models", str(tmp_path / "m"), "--epochs", "1",
                       "--batch-size", "32", "--config", str(overrides), "--quiet", "--seed", "3", "--epoch-rows", "40",
                       "--bar-chords", "0.5", "--generator-average", "0.9", "--scrambled-negatives", "0.25",
                       "--scramble", "leaps", "--mode-seeking", "0.5"])
    out = capsys.readouterr().out
    assert code == 0 and "samples N=40  batch B=32" in out and "iterations/epoch=2 (ceil(N/B))" in out
    assert f"quality watch (epoch 1) is in {tmp_path / 'm' / 'best'}/: python generate.py --models" in out
    saved = json.loads((tmp_path / "m" / "config.json").read_text())
    assert saved["train"]["seed"] == 3 and saved["model"]["width"] == 8 and saved["train"]["bar_chords"] == 0.5
    assert saved["train"]["generator_average"] == 0.9 and saved["train"]["scrambled_negatives"] == 0.25
    assert saved["train"]["scramble"] == "leaps" and saved["train"]["mode_seeking"] == 0.5
    overrides.write_text(json.dumps({"model": {"depth": 3}}))
    assert train_main(["--data", str(corpus_dir), "--models", str(tmp_path / "x"), "--config", str(overrides)]) == 2
    assert "unknown ModelConfig setting(s): depth" in capsys.readouterr().err
    for bad, message in (({"train": {"epochs": "3"}}, 'train.epochs must be a whole number, got "3"'),
                         ({"model": {"width": 8.5}}, "model.width must be a whole number, got 8.5"),
                         ({"train": {"drop_remainder": 1}}, "train.drop_remainder must be true or false, got 1"),
                         ({"train": [3]}, "section 'train' must be a JSON object of settings, got [3]"),
                         ([1], "must hold a JSON object of sections")):
        overrides.write_text(json.dumps(bad))
        assert train_main(["--data", str(corpus_dir), "--models", str(tmp_path / "x"), "--config", str(overrides)]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert train_main(["--data", str(corpus_dir), "--models", str(tmp_path / "x"), "--resume", "--fresh"]) == 2
    assert "--resume continues a run and --fresh deletes it" in capsys.readouterr().err
    assert train_main(["--data", str(corpus_dir), "--models", str(tmp_path / "x"), "--checkpoint-minutes", "-1"]) == 2
    assert "--checkpoint-minutes must be a number >= 0, got -1.0" in capsys.readouterr().err
    assert train_main(["--data", str(corpus_dir), "--models", str(tmp_path / "x"), "--meter-balance", "2"]) == 2
    assert "meter_balance must be in [0, 1], got 2.0" in capsys.readouterr().err
    assert train_main(["--data", str(corpus_dir), "--models", str(tmp_path / "x"), "--dp", "--epoch-rows", "9"]) == 2
    assert "leave train.epoch_rows unset with --dp" in capsys.readouterr().err
    assert train_main(["--data", str(corpus_dir), "--models", str(tmp_path / "x"), "--bar-chords", "1.5"]) == 2
    assert "bar_chords must be in [0, 1], got 1.5" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        train_main(["--help"])
    assert done.value.code == 0 and "ceil(N/B)" in capsys.readouterr().out


def test_a_folder_without_usable_music_is_refused(tmp_path, capsys):
    (tmp_path / "midi").mkdir()
    write_midi(tmp_path / "midi" / "long.mid", meter=(17, 4))
    assert train_main(["--data", str(tmp_path / "midi"), "--models", str(tmp_path / "m"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no usable phrases" in err and "meter 17/4" in err


def test_training_watches_quality_and_keeps_the_best_generator(corpus_dir, tmp_path):
    said = []
    training.train(tiny_config(epochs=2), corpus_dir, tmp_path, progress=False, print_fn=said.append)
    log = list(csv.DictReader((tmp_path / "training_log.csv").read_text().splitlines()))
    assert all(float(r["quality"]) >= 0 and 0 <= float(r["diversity"]) <= 1 for r in log)
    best = json.loads((tmp_path / "best" / "config.json").read_text())
    assert best["quality"]["quality"] == pytest.approx(min(float(r["quality"]) for r in log), abs=1e-4)
    assert {p.name for p in (tmp_path / "best").iterdir()} == {"generator.h5", "config.json"}
    from musicgan.models.files import load_generator
    load_generator(tmp_path / "best")


def test_quality_warnings_and_distance():
    from musicgan.evaluate import metrics
    real = {k: 1.0 for k in metrics.WATCHED}
    assert metrics.distance(real, real) == 0
    assert metrics.distance({**real, "notes_per_bar": 3.0}, real) == pytest.approx(2 / len(metrics.WATCHED))
    silent = {**real, "notes_per_bar": 0.1, "empty_bar_rate": 0.9, "diversity": 0.0}
    assert [w.split(":")[0].split(" (")[0] for w in metrics.warnings_for(silent)] == [
        "mode collapse", "the generator is mostly silent"]
    assert metrics.warnings_for({**real, "diversity": 0.5, "empty_bar_rate": 0.0}) == []
