import csv
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from musicgan.cli import build_train_parser, train_config
from musicgan.core.config import Config, ModelConfig, PrivacyConfig, TrainConfig
from musicgan.data.corpus import prepare
from musicgan.train import accounting, privacy, trainer
from musicgan.train import loop as training

from .conftest import write_midi


def dp_config(loss="wgan-gp", precision="float32", **private):
    """Float32 unless asked: the tests compare per-example gradients with single ones to float32 rounding."""
    return Config(model=ModelConfig(latent=4, width=8, embed=2),
                  train=TrainConfig(epochs=2, batch_size=4, save_every=1, sample_every=1, loss=loss,
                                    feature_matching=0.0, precision=precision),
                  privacy=PrivacyConfig(dp=True, **private))


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("midi")
    for i in range(3):                      # 3 songs x 3 phrases (8 bars, hop 2), each in ~12 keys
        write_midi(root / f"s{i}.mid", bars=8, pitch_shift=i)
    prepare(root, progress=False, jobs=1)
    return root


@pytest.fixture
def fixed_secret(monkeypatch):
    monkeypatch.setattr(privacy, "fresh_secret", lambda: 1234)


def _rows(corpus_dir, unit="phrase"):
    return prepare(corpus_dir, progress=False, jobs=1).rows(True, unit)


def _batch(corpus_dir, n=6):
    rows = _rows(corpus_dir)
    pick = np.random.default_rng(0).choice(len(rows.melody), n, replace=False)
    return next(privacy.batches(rows, [pick]))


@pytest.mark.parametrize("loss", ["wgan-gp", "nonsaturating"])
def test_per_example_gradients_are_each_examples_own_and_clipped_to_c(corpus_dir, loss):
    gan = privacy.PrivateGAN(dp_config(loss))
    mel, chords, prev = _batch(corpus_dir)
    real = tf.one_hot(mel, 39)
    fake = gan.fake_melody(chords, prev, tf.random.normal([6, gan.cfg.model.latent]), tf.random.uniform([6, 64, 39], 1e-9, 1))
    eps = tf.random.uniform([6, 1, 1])
    grads, *_ = gan.per_example_grads(real, fake, chords, prev, eps)
    with tf.GradientTape() as tape:                      # example 3 alone, the plain way
        loss3, _, _ = gan.example_loss(real[3:4], fake[3:4], chords[3:4], prev[3:4], eps[3:4])
    for g, alone in zip(grads, tape.gradient(loss3, gan.discriminator.trainable_variables)):
        np.testing.assert_allclose(g[3].numpy(), tf.convert_to_tensor(alone).numpy(), rtol=1e-4, atol=1e-5)
    norms = np.sqrt(sum(np.sum(np.reshape(g.numpy(), (6, -1)) ** 2, 1) for g in grads))
    c = float(np.median(norms))                          # some examples above C, some below
    clipped, reported = privacy.clip(grads, c)
    after = np.sqrt(sum(np.sum(np.reshape(g.numpy(), (6, -1)) ** 2, 1) for g in clipped))
    np.testing.assert_allclose(reported.numpy(), norms, rtol=1e-5)
    assert np.all(after <= c + 1e-6)
    small = norms <= c                                   # left alone when already within C
    np.testing.assert_allclose(after[small], norms[small], rtol=1e-5)


def test_a_bfloat16_private_step_clips_in_float32_and_moves_d(corpus_dir):
    gan = privacy.PrivateGAN(dp_config(precision="bfloat16"))
    assert not isinstance(gan.d_opt, tf.keras.mixed_precision.LossScaleOptimizer)
    before = [w.numpy().copy() for w in gan.discriminator.trainable_weights]
    out = gan.d_step(_batch(corpus_dir))
    assert all(np.isfinite(float(v)) for v in out.values()) and 0 <= float(out["dp_clipped"]) <= 1
    assert all(w.dtype == "float32" for w in gan.discriminator.trainable_weights)
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before, gan.discriminator.trainable_weights))


def test_with_zero_gradients_the_update_is_noise_of_std_sigma_c_over_b(corpus_dir, fixed_secret):
    cfg = dp_config(noise_multiplier=1.1, l2_clip=0.5)
    gan = privacy.PrivateGAN(cfg)
    gan.d_opt = keras.optimizers.SGD(1.0)                # the update is then minus the noised mean gradient
    gan.d_opt.build(gan.discriminator.trainable_variables)
    before = np.concatenate([w.numpy().ravel() for w in gan.discriminator.trainable_variables])
    mel, chords, prev = (b[:0] for b in _batch(corpus_dir))   # an empty Poisson batch: no real gradient
    out = gan.d_step_eager((mel, chords, prev))
    after = np.concatenate([w.numpy().ravel() for w in gan.discriminator.trainable_variables])
    noise = before - after
    expected = 1.1 * 0.5 / cfg.train.batch_size
    assert float(out["d_loss"]) == 0 and abs(noise.mean()) < 4 * expected / np.sqrt(noise.size)
    assert noise.std() == pytest.approx(expected, rel=4 / np.sqrt(2 * noise.size))


def test_epsilon_equals_dp_accountings_own_computation():
    import dp_accounting
    from dp_accounting import pld, rdp

    cfg = Config(train=TrainConfig(batch_size=256, feature_matching=0.0), privacy=PrivacyConfig(
        dp=True, noise_multiplier=1.1, delta=1e-5))
    plan = accounting.plan(cfg, np.arange(60000))
    assert plan["q"] == 256 / 60000 and plan["iterations_per_epoch"] == 235      # ceil(60000 / 256)
    steps = 60 * 235
    got = accounting.epsilons(plan, steps)
    event = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(256 / 60000, dp_accounting.GaussianDpEvent(1.1)), steps)
    for name, accountant in (("rdp", rdp.RdpAccountant()), ("pld", pld.PLDAccountant())):
        accountant.compose(event)
        assert got[f"epsilon_{name}"] == pytest.approx(accountant.get_epsilon(1e-5), abs=1e-4)
    assert got["epsilon_pld"] < got["epsilon_rdp"] < 3.0 < got["epsilon_basic"]
    assert accounting.over_budget(plan, steps, 2.0) and not accounting.over_budget(plan, steps, 3.0)


@pytest.mark.parametrize("unit", ["phrase", "song"])
def test_poisson_batches_have_the_expected_mean_size_and_one_row_per_unit(corpus_dir, unit):
    rows = _rows(corpus_dir, unit)
    unit_id = rows.unit_id
    units = len(np.unique(unit_id))
    assert units == {"phrase": 9, "song": 3}[unit] and len(rows.melody) == 9 * 10    # transposed copies share a unit
    b = 2
    picks = privacy.poisson_batches(unit_id, b, 4000, secret=7, epoch=0)
    sizes = np.array([len(p) for p in picks])
    q = b / units
    assert sizes.mean() == pytest.approx(b, abs=4 * np.sqrt(units * q * (1 - q) / len(picks)))
    assert sizes.min() == 0 and sizes.max() > b                               # sizes vary: Poisson, not fixed
    assert all(len(set(unit_id[p])) == len(p) for p in picks)
    rows = np.concatenate(picks)
    assert len(np.unique(rows)) > units                                       # every key gets drawn
    again = privacy.poisson_batches(unit_id, b, 4000, secret=7, epoch=0)
    assert all(np.array_equal(x, y) for x, y in zip(picks, again))
    assert not all(np.array_equal(x, y) for x, y in zip(picks, privacy.poisson_batches(unit_id, b, 4000, 7, 1)))


def test_generator_step_reads_only_public_conditions(corpus_dir, monkeypatch):
    gan = privacy.PrivateGAN(dp_config())
    seen = []
    monkeypatch.setattr(gan, "d_step", lambda *batch: {})
    monkeypatch.setattr(gan, "g_step", lambda *batch: seen.append(batch) or {"g_loss": 0.0})
    batch = _batch(corpus_dir)
    gan.train_batch(batch, step=0)
    (mel, chords, prev, _noise), = seen[0]
    assert not np.any(mel.numpy()) and np.all(prev.numpy() == 0) and mel.shape[0] == 4
    ids = chords.numpy()
    change = (ids[:, 1:, :24] != ids[:, :-1, :24]).any(-1)              # the chord changes between slots...
    assert not (change & (ids[:, 1:, 24] == 0)).any()                   # ...only at a downbeat: one chord a bar
    assert len({tuple(np.flatnonzero(row[:, 24])) for row in ids}) > 1  # in more than one meter
    g_chords, _ = privacy.public_conditions(np.random.default_rng([0, 0]), 4, gan.cfg.representation)
    np.testing.assert_array_equal(ids, g_chords.numpy())               # keyed by (seed, step), not by data


def test_private_training_logs_epsilon_stops_at_the_target_and_resumes_exactly(corpus_dir, tmp_path, fixed_secret):
    cfg = dp_config("nonsaturating")                    # the cheaper trace; wgan-gp is checked above
    cfg.train.epochs, cfg.train.save_every, cfg.train.sample_every = 5, 100, 100
    plan = accounting.plan(cfg, _rows(corpus_dir).unit_id)
    assert plan["q"] == 4 / 9 and plan["iterations_per_epoch"] == 3
    two, three = (accounting.epsilon(1.0, plan["q"], k * 3, 1e-5, "pld") for k in (2, 3))
    cfg.privacy.target_epsilon = (two + three) / 2
    said = []
    straight = training.train(cfg, corpus_dir, tmp_path / "a", progress=False, print_fn=said.append)
    assert any("Poisson sampling q = B/N = 0.4444" in s for s in said)
    assert "stopping after epoch 2: epoch 3 would take ε past" in said[-1]
    with open(tmp_path / "a" / "training_log.csv") as f:
        log = list(csv.DictReader(f))
    eps = [float(r["epsilon_pld"]) for r in log]
    assert [r["epoch"] for r in log] == ["1", "2"] and 0 < eps[0] < eps[1] <= cfg.privacy.target_epsilon
    assert all(float(r["epsilon_pld"]) <= float(r["epsilon_rdp"]) < float(r["epsilon_basic"]) for r in log)
    assert all(0 <= float(r["dp_clipped"]) <= 1 for r in log)
    saved = json.loads((tmp_path / "a" / "config.json").read_text())
    assert saved["epochs_trained"] == 2 and saved["privacy"]["dp"]
    assert saved["batch"]["privacy"]["epsilon_pld"] == eps[1] and saved["batch"]["privacy"]["steps"] == 2 * 3
    assert "1234" not in (tmp_path / "a" / "config.json").read_text()      # the noise seed stays secret
    assert not (tmp_path / "a" / "best").exists()       # picking by corpus metrics would not be private

    cfg.train.epochs = 1
    training.train(cfg, corpus_dir, tmp_path / "b", progress=False, print_fn=str)
    cfg.train.epochs = 5
    resumed = training.train(cfg, corpus_dir, tmp_path / "b", resume=True, progress=False, print_fn=str)
    for a, b in zip(straight.generator.weights + straight.discriminator.weights,
                    resumed.generator.weights + resumed.discriminator.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)

    cfg.privacy.target_epsilon = two / 100
    with pytest.raises(trainer.TrainingError, match="one epoch already spends more"):
        training.train(cfg, corpus_dir, tmp_path / "x", progress=False, print_fn=str)


def test_dp_settings_from_the_command_line_and_their_errors(tmp_path):
    args = build_train_parser().parse_args(["--dp", "--dp-noise-multiplier", "1.3", "--dp-unit", "song"])
    cfg = train_config(args)
    assert cfg.privacy.dp and cfg.privacy.noise_multiplier == 1.3 and cfg.privacy.unit == "song"
    assert cfg.train.feature_matching == 0                               # --dp turns it off
    assert train_config(build_train_parser().parse_args([])).train.feature_matching == 1.0
    overrides = tmp_path / "o.json"
    overrides.write_text(json.dumps({"train": {"feature_matching": 1.0}}))
    with pytest.raises(ValueError, match="feature matching reads real data"):
        train_config(build_train_parser().parse_args(["--dp", "--config", str(overrides)]))
    with pytest.raises(ValueError, match="privacy unit must be one of phrase, song"):
        PrivacyConfig(unit="bar")
    with pytest.raises(trainer.TrainingError, match=r"--dp-delta 0.5 is not below 1/N = 0.111 \(9 phrases\)"):
        accounting.plan(dp_config(delta=0.5), np.arange(9))
    with pytest.raises(trainer.TrainingError, match="larger than the 3 songs"):
        accounting.plan(dp_config(unit="song"), np.arange(3))
    assert "Poisson" in build_train_parser().format_help()


def test_noise_for_spends_the_target_epsilon_and_no_more():
    sigma = accounting.noise_for(3.0, 0.1, 100, 1e-5, "rdp")          # 100 steps at q = 0.1
    assert accounting.epsilon(sigma, 0.1, 100, 1e-5, "rdp") <= 3.0 < accounting.epsilon(sigma * 0.99, 0.1, 100,
                                                                                          1e-5, "rdp")
    assert accounting.noise_for(1.0, 0.1, 100, 1e-5, "rdp") > sigma > accounting.noise_for(8.0, 0.1, 100, 1e-5, "rdp")
    with pytest.raises(trainer.TrainingError, match="needs σ above 64"):
        accounting.noise_for(0.01, 0.9, 1000, 1e-5)
    plan = accounting.plan(dp_config(target_epsilon=3.0), np.arange(40))      # 2 epochs of 10 steps at q = 0.1
    assert plan["noise_for_target"] == accounting.noise_for(3.0, 0.1, 20, 1e-5, "rdp")
    assert "--dp-noise-multiplier" in accounting.format_plan(plan)
    assert "noise_for_target" not in accounting.plan(dp_config(), np.arange(40))
