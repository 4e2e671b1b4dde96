"""The training-speed changes keep the numbers: the precision choice, the LeakyReLU without the gradient
penalty's zero path, the padded last batch (one trace a run), bfloat16 steps and float32 files."""

import numpy as np
import pytest
import tensorflow as tf

from musicgan.core.config import Config, ModelConfig, TrainConfig, load_config
from musicgan.core.errors import ConfigError
from musicgan.core.meter import FOUR_FOUR
from musicgan.data.pipeline import conditions, tf_dataset
from musicgan.harmony.chords import FEATURES
from musicgan.models import gan as networks
from musicgan.models import losses
from musicgan.models.numpy_runtime import NumpyGenerator
from musicgan.train import hooks, precision, trainer
from musicgan.train import loop as training

from .conftest import write_midi
from .test_training import _batch, _changed, _weights, tiny_config


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("midi")
    for i in range(2):
        write_midi(root / f"s{i}.mid", bars=8)
    return root


@pytest.mark.parametrize("requested, has_gpu, flags, chosen", [
    ("auto", False, {"avx512f", "avx512_bf16"}, "bfloat16"),
    ("auto", False, {"amx_bf16", "amx_tile"}, "bfloat16"),
    ("auto", False, {"avx2", "avx512f", "avx512_vnni"}, "float32"),      # AVX-512 alone is not bfloat16
    ("auto", False, set(), "float32"),
    ("auto", True, {"avx512_bf16"}, "float16"),                          # a GPU wins over the CPU
    ("float32", True, {"avx512_bf16"}, "float32"),                       # asked for: as given
    ("bfloat16", False, set(), "bfloat16")])
def test_precision_choice_from_the_hardware(requested, has_gpu, flags, chosen):
    assert precision.choose(requested, has_gpu, flags) == chosen


def test_no_bfloat16_without_onednn(monkeypatch):
    """TF_ENABLE_ONEDNN_OPTS=0 leaves bfloat16 to TensorFlow's emulation, slower than float32."""
    assert precision.choose("auto", False, {"avx512_bf16"}, onednn=False) == "float32"
    assert precision.choose("auto", True, {"avx512_bf16"}, onednn=False) == "float16"
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx512_bf16"})
    assert precision.resolve("auto") == ("float16" if tf.config.list_physical_devices("GPU") else "float32")


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert precision.cpu_flags(info) == {"fpu", "avx512f", "avx512_bf16"}
    assert precision.cpu_flags(tmp_path / "missing") == set()


def test_precision_is_validated_and_old_configs_read_as_float32(tmp_path):
    with pytest.raises(ConfigError, match="precision must be one of auto, float32, bfloat16, float16"):
        TrainConfig(precision="int8")
    (tmp_path / "config.json").write_text('{"train": {"epochs": 3}}')     # saved before --precision
    assert load_config(tmp_path)[0].train.precision == "float32"


def _penalty_and_grads(critic, real, fake, chords, prev, eps):
    with tf.GradientTape() as tape:
        gp = losses.gradient_penalty(critic, real, fake, (chords, prev), eps)
    return gp, tape.gradient(gp, critic.trainable_variables)


def test_leaky_relu_without_the_zero_path_gives_the_same_penalty_and_gradients(corpus_dir):
    cfg = tiny_config()
    rep = cfg.representation
    mel, chords, prev = _batch(corpus_dir, 8)
    keras_d = networks.build_discriminator(rep, cfg.model)
    ours = networks.build_discriminator(rep, cfg.model, for_training=True)
    assert {type(layer) for layer in ours.layers} >= {networks.LeakyReLU}
    ours.set_weights(keras_d.get_weights())
    real = tf.one_hot(mel, 39)
    fake = tf.nn.softmax(tf.random.stateless_normal(real.shape, [1, 2]) * 3)
    eps = tf.random.stateless_uniform([8, 1, 1], [3, 4])
    for fn in (lambda c, *a: _penalty_and_grads(c, *a), tf.function(lambda c, *a: _penalty_and_grads(c, *a))):
        gp_keras, g_keras = fn(keras_d, real, fake, chords, prev, eps)
        gp_ours, g_ours = fn(ours, real, fake, chords, prev, eps)
        np.testing.assert_allclose(gp_ours.numpy(), gp_keras.numpy(), rtol=1e-6)
        assert float(tf.reduce_max(gp_keras)) > 0
        zero_path = []
        for v, a, b in zip(ours.trainable_variables, g_ours, g_keras):
            if a is None and b is not None:     # only the zero path reached it: Keras' gradient is exact zeros
                assert not np.any(tf.convert_to_tensor(b).numpy()), v.path
                zero_path.append(v.path)
            elif a is not None:
                np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7)
        # D's input gradient does not depend on the previous bar's branch (it adds to D's features):
        # without the zero path TensorFlow sees no connection there at all
        assert "d_prev_embed/embeddings" in zero_path


def test_a_padded_last_batch_trains_as_the_short_batch(corpus_dir):
    """5 rows + 3 fillers of weight 0 move the weights as the 5 rows alone do."""
    cfg = tiny_config(precision="float32")
    mel, chords, prev, noise = _batch(corpus_dir, 8, cfg)
    short = (mel[:5], chords[:5], prev[:5], {k: v[:5] for k, v in noise.items()})
    filler = (tf.concat([mel[:5], mel[:3]], 0), tf.concat([chords[:5], chords[:3]], 0),
              tf.concat([prev[:5], prev[:3]], 0), noise, tf.constant([1.0] * 5 + [0.0] * 3))
    a, b = trainer.GAN(cfg), trainer.GAN(cfg)
    out_a = {**a.d_step(short), **a.g_step(short)}
    out_b = {**b.d_step(filler), **b.g_step(filler)}
    for k, v in out_a.items():
        assert float(v) == pytest.approx(float(out_b[k]), rel=1e-5)
    for x, y in zip(a.generator.weights + a.discriminator.weights, b.generator.weights + b.discriminator.weights):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-5, atol=1e-6)


def test_padding_keeps_every_row_once_a_epoch():
    mel, prev = np.arange(10)[:, None].repeat(64, 1), np.zeros((10, 16), np.uint8)
    ids = np.zeros((10, 32), np.int16)
    batches = list(tf_dataset(mel, ids, prev, np.tile([4, 4], (10, 1)), 4, seed=3, pad_remainder=True))
    assert [len(b[0]) for b in batches] == [4, 4, 4]
    rows = np.concatenate([b[0][:, 0].numpy() for b in batches])
    weights = np.concatenate([b[3].numpy() for b in batches])
    assert sorted(rows[weights == 1]) == list(range(10)) and weights[:10].all() and not weights[10:].any()


def test_a_run_traces_each_step_once(corpus_dir, tmp_path):
    cfg = tiny_config(epochs=2, batch_size=24, precision="float32")
    gan = training.train(cfg, corpus_dir, tmp_path, progress=False, print_fn=str)
    rows = prepare_rows(corpus_dir, cfg)
    assert rows % 24, "the corpus must leave a short last batch for this test to mean anything"
    assert gan.d_step.experimental_get_tracing_count() == 1
    assert gan.g_step.experimental_get_tracing_count() == 1


def prepare_rows(corpus_dir, cfg):
    from musicgan.data.corpus import prepare

    corpus = prepare(corpus_dir, progress=False, jobs=1)
    return len(corpus.subset(~corpus.held_out(cfg.train.holdout)).rows().melody)


def test_bfloat16_steps_train_float32_weights_and_save_float32_files(corpus_dir, tmp_path):
    cfg = tiny_config(precision="bfloat16")
    gan = trainer.GAN(cfg)
    assert gan.generator.get_layer("g_dense").compute_dtype == "bfloat16"
    assert gan.generator.output.dtype == "float32" and gan.discriminator.output.dtype == "float32"
    assert all(w.dtype == "float32" for w in gan.generator.weights + gan.discriminator.weights)
    batch = _batch(corpus_dir, 8, cfg)
    g0, d0 = _weights(gan.generator), _weights(gan.discriminator)
    out = {**gan.d_step(batch), **gan.g_step(batch)}
    assert all(np.isfinite(v) for v in out.values())
    assert _changed(g0, gan.generator) and _changed(d0, gan.discriminator)
    hooks.save_models(gan, tmp_path, cfg, {})
    numpy_g = NumpyGenerator(tmp_path / "generator.h5")        # generation reads it as any float32 model
    exported, _ = gan.exported(discriminator=False)
    noise = np.random.default_rng(0).normal(size=(2, cfg.model.latent)).astype(np.float32)
    cond = conditions(FEATURES[np.zeros((2, cfg.representation.phrase_slots), int)], FOUR_FOUR)
    inputs = [noise, cond, np.zeros((2, cfg.representation.context_steps), np.int32)]
    np.testing.assert_allclose(numpy_g(inputs), exported(inputs).numpy(), atol=1e-5)


def test_float16_scales_the_loss_and_the_run_records_the_precision_it_chose(corpus_dir, tmp_path):
    gan = trainer.GAN(tiny_config(precision="float16"))
    assert isinstance(gan.d_opt, tf.keras.mixed_precision.LossScaleOptimizer)
    out = {**gan.d_step(_batch(corpus_dir, 8, gan.cfg)), **gan.g_step(_batch(corpus_dir, 8, gan.cfg))}
    assert all(np.isfinite(v) for v in out.values())
    said = []
    training.train(tiny_config(epochs=1, precision="auto"), corpus_dir, tmp_path, progress=False,
                   print_fn=said.append)
    chosen = precision.resolve("auto")
    assert load_config(tmp_path / "checkpoints")[0].train.precision == chosen
    assert any(line.startswith("precision: ") and "auto" in line for line in said)
    other = "float32" if chosen != "float32" else "bfloat16"
    with pytest.raises(trainer.TrainingError, match=f"train.precision: checkpoint '{chosen}', now '{other}'"):
        training.train(tiny_config(epochs=2, precision=other), corpus_dir, tmp_path, resume=True, progress=False)


def test_config_json_precision_flag():
    from musicgan.cli.train import build_train_parser, train_config

    args = build_train_parser().parse_args(["--precision", "bfloat16"])
    assert train_config(args).train.precision == "bfloat16"
    assert Config(model=ModelConfig()).train.precision == TrainConfig().precision


def test_emulated_bfloat16_is_named(monkeypatch):
    """bfloat16 asked for (a config copied from an AVX-512 machine, say) on a CPU without it warns at the start."""
    assert "emulates" in precision.describe("bfloat16", "bfloat16", native=False)
    assert "warning" not in precision.describe("bfloat16", "bfloat16", native=True)
    assert "warning" not in precision.describe("float32", "float32", native=False)
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2"})
    assert precision.native_bfloat16() == bool(tf.config.list_physical_devices("GPU"))
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "amx_bf16"})
    assert precision.native_bfloat16()
