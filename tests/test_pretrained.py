"""--init-from: a public model's weights as the start of a (private) run, its corpus kept apart by
content hash, and the frozen discriminator layers."""

import dataclasses
import json
import shutil

import keras
import numpy as np
import pytest

from musicgan.cli import build_train_parser, train_config
from musicgan.core.config import Config, ModelConfig, PrivacyConfig, TrainConfig
from musicgan.core.errors import ConfigError, ModelError
from musicgan.data.corpus import content_hashes
from musicgan.train import loop as training
from musicgan.train import pretrained, privacy, trainer

from .conftest import write_midi


def small(dp=False, model=None, **train):
    base = {"epochs": 1, "batch_size": 4, "save_every": 1, "sample_every": 1, "precision": "float32",
            "feature_matching": 0.0, **train}
    return Config(model=model or ModelConfig(latent=4, width=8, embed=2), train=TrainConfig(**base),
                  privacy=PrivacyConfig(dp=dp))


@pytest.fixture(scope="module")
def public(tmp_path_factory):
    """A tiny model trained 1 epoch on 2 songs (ROOT/public), with checkpoints; its corpus in ROOT/folk."""
    root = tmp_path_factory.mktemp("pre")
    for i in range(2):
        write_midi(root / "folk" / f"f{i}.mid", bars=8, pitch_shift=i)
    training.train(small(), root / "folk", root / "public", progress=False, print_fn=str, jobs=1)
    return root


@pytest.fixture
def private(tmp_path):
    for i in range(3):
        write_midi(tmp_path / "private" / f"p{i}.mid", bars=8, pitch_shift=3 + i)
    return tmp_path / "private"


def test_a_public_model_leaves_its_corpus_hashes_and_a_private_one_none(public, private, tmp_path):
    saved = (public / "public" / pretrained.HASHES).read_text().split()
    assert sorted(saved) == sorted(content_hashes(sorted((public / "folk").glob("*.mid"))))
    assert len(saved) == 2 and all(len(h) == 16 for h in saved)
    cfg = small(dp=True, init_from=str(public / "public"))
    said = []
    (tmp_path / "dp").mkdir()
    (tmp_path / "dp" / pretrained.HASHES).write_text("0123456789abcdef\n")    # an earlier model's, in the folder
    training.train(cfg, private, tmp_path / "dp", progress=False, print_fn=said.append, jobs=1)
    assert not (tmp_path / "dp" / pretrained.HASHES).exists()    # it would tell who is in the private set
    assert not (tmp_path / "dp" / "checkpoints" / pretrained.HASHES).exists()
    record = json.loads((tmp_path / "dp" / "config.json").read_text())
    init = record["init_from"]
    assert init["folder"] == str((public / "public").resolve()) and init["epochs_trained"] == 1
    assert init["corpus"]["files"] == 2 and init["corpus_hashes"] == pretrained.HASHES
    assert init["config_hash"] == pretrained.config_hash(pretrained.load_config(public / "public")[0])
    privacy_record = record["batch"]["privacy"]
    assert privacy_record["units"] == 9 and privacy_record["steps"] == 3 and privacy_record["epsilon_pld"] > 0
    assert any("none of its corpus's 2 distinct files is in the training folder" in s for s in said)


def test_fine_tuning_on_the_public_corpus_itself_warns_only_when_its_split_differs(public, tmp_path):
    said = []
    training.train(small(init_from=str(public / "public")), public / "folk", tmp_path / "again", progress=False,
                   print_fn=said.append, jobs=1)
    assert not any(s.startswith("warning") for s in said)          # the same songs held out: nothing leaks
    assert any(s.startswith("continuing --init-from") and "own corpus and held-out split" in s for s in said)
    assert any("; 2 of its corpus's 2 distinct files are in the training folder" in s for s in said)
    said.clear()
    training.train(small(init_from=str(public / "public"), holdout_by="song"), public / "folk", tmp_path / "other",
                   progress=False, print_fn=said.append, jobs=1)
    assert any(s.startswith("warning: 2 file(s) under the training folder are in the corpus") for s in said)


def test_a_fine_tuned_model_samples_as_the_public_model_does(public, private, tmp_path):
    shutil.copytree(public / "public", tmp_path / "pub")
    raw = json.loads((tmp_path / "pub" / "config.json").read_text())
    (tmp_path / "pub" / "config.json").write_text(json.dumps({**raw, "temperature": 0.3, "meter_temperatures": {
        "4/4": 0.5}, "chord_weight": 0.25, "meter_chord_weights": {"4/4": 1.0}}))
    training.train(small(init_from=str(tmp_path / "pub")), private, tmp_path / "ft", progress=False, print_fn=str, jobs=1)
    record = json.loads((tmp_path / "ft" / "config.json").read_text())
    assert record["temperature"] == 0.3 and record["init_from"]["temperature"] == 0.3
    assert record["meter_temperatures"] == record["init_from"]["meter_temperatures"] == {"4/4": 0.5}
    assert record["chord_weight"] == record["init_from"]["chord_weight"] == 0.25
    assert record["meter_chord_weights"] == record["init_from"]["meter_chord_weights"] == {"4/4": 1.0}
    assert "temperature" not in json.loads((public / "public" / "config.json").read_text())


def test_the_run_starts_from_the_public_weights(public, private):
    gan = trainer.GAN(small(seed=5))                    # another seed: other random weights
    disc = keras.models.load_model(public / "public" / "discriminator.h5", compile=False)
    assert not all(np.array_equal(a, b) for a, b in zip(gan.discriminator.get_weights(), disc.get_weights()))
    record, hashes = pretrained.start(gan, small(init_from=str(public / "public")), public / "x", False,
                                      sorted(private.glob("*.mid")), print_fn=str)
    gen = keras.models.load_model(public / "public" / "generator.h5", compile=False)
    for mine, theirs in ((gan.generator, gen), (gan.discriminator, disc)):
        for a, b in zip(mine.get_weights(), theirs.get_weights()):
            np.testing.assert_array_equal(a, b)
    assert len(hashes) == 2 and record["optimizer"] is False


def test_local_noise_the_pitch_channels_and_the_wide_block_grow_from_a_model_without_them_and_start_as_it(
        public, private, tmp_path):
    from musicgan.models.numpy_runtime import NumpyGenerator
    from musicgan.train import hooks

    grown = small(model=ModelConfig(latent=4, width=8, embed=2, local_noise=2, pitch_channel=True,
                                    sounding_pitch=True, wide_block=True), init_from=str(public / "public"))
    gan = trainer.GAN(grown)
    pretrained.start(gan, grown, tmp_path / "x", False, sorted(private.glob("*.mid")), print_fn=str)
    rng = np.random.default_rng(0)
    rep = grown.representation
    noise = rng.standard_normal((3, 4 + 2 * rep.phrase_steps)).astype(np.float32)
    chords = rng.random((3, rep.phrase_slots, gan.generator.inputs[1].shape[-1])).astype(np.float32)
    prev = rng.integers(0, 39, (3, rep.context_steps)).astype(np.int32)
    before = keras.models.load_model(public / "public" / "generator.h5", compile=False)
    np.testing.assert_allclose(gan.generator([noise, chords, prev]).numpy(),   # the local noise not read yet, the
                                                                              # wide block adding nothing
                               before([noise[:, :4], chords, prev]).numpy(), rtol=1e-5, atol=1e-6)
    melody = np.eye(39, dtype=np.float32)[rng.integers(0, 39, (3, rep.phrase_steps))]
    critic = keras.models.load_model(public / "public" / "discriminator.h5", compile=False)
    np.testing.assert_allclose(gan.discriminator([melody, chords, prev]).numpy(),     # nor the pitch height
                               critic([melody, chords, prev]).numpy(), rtol=1e-5, atol=1e-6)
    for step in range(3):
        gan.train_batch(next(privacy.batches(_rows(private), [np.arange(4)])) + (
            trainer.batch_noise(grown, 4, np.array([step, 0])),), step=0)
    hooks.save_models(gan, tmp_path / "m", grown, {})
    keras_out = gan.exported()[0]([noise, chords, prev]).numpy()
    for block in ("g_16th_conv", "g_16th_b_conv"):        # the rows that read the local noise have learned
        assert np.abs(gan.generator.get_layer(block).kernel.numpy()[:, -2:]).min() > 0
    assert np.abs(gan.discriminator.get_layer("d_16th_conv").kernel.numpy()[:, 39:41]).min() > 0   # and the heights
    assert np.abs(gan.generator.get_layer("g_wide_out").kernel.numpy()).max() > 0      # and the wide block
    np.testing.assert_allclose(NumpyGenerator(tmp_path / "m" / "generator.h5")([noise, chords, prev]), keras_out,
                               rtol=1e-4, atol=1e-5)
    with pytest.raises(ModelError, match="width"):     # only the options GROWABLE names may differ
        pretrained.check_compatible(public / "public", pretrained.load_config(public / "public")[0],
                                    small(model=ModelConfig(latent=4, width=16, embed=2, local_noise=2)))


def test_a_fine_tune_may_label_its_own_scores_chords_but_not_change_what_the_networks_read(public):
    folder = public / "public"
    cfg = pretrained.load_config(folder)[0]
    rep = cfg.representation
    relabelled = dataclasses.replace(rep, score_chords="beat" if rep.score_chords == "viterbi" else "viterbi",
                                     score_inference=dataclasses.replace(rep.score_inference, concentration=3.0))
    pretrained.check_compatible(folder, cfg, dataclasses.replace(cfg, representation=relabelled))
    for changed, key in ((dataclasses.replace(rep, context_steps=rep.context_steps // 2), "context_steps"),
                         (dataclasses.replace(rep, chord_inference=dataclasses.replace(
                             rep.chord_inference, concentration=3.0)), "chord_inference.concentration")):
        with pytest.raises(ModelError, match=key):
            pretrained.check_compatible(folder, cfg, dataclasses.replace(cfg, representation=changed))


@pytest.mark.parametrize("dp", [True, False])
def test_a_private_folder_holding_a_public_file_is_refused_under_dp(public, private, tmp_path, dp):
    shutil.copy(public / "folk" / "f1.mid", private / "renamed.mid")        # the same bytes, another name
    cfg = small(dp=dp, init_from=str(public / "public"))
    if dp:
        with pytest.raises(trainer.TrainingError, match=r"1 file\(s\) under the training folder are in the corpus "
                           r"of --init-from .*renamed.mid.*which DP cannot hide"):
            training.train(cfg, private, tmp_path / "m", progress=False, print_fn=str, jobs=1)
        assert not (tmp_path / "m" / "config.json").exists()
    else:
        said = []
        training.train(cfg, private, tmp_path / "m", progress=False, print_fn=said.append, jobs=1)
        assert any(s.startswith("warning: 1 file(s)") for s in said)
        # a plain fine-tuned model carries both corpora's hashes: it learned both
        assert len((tmp_path / "m" / pretrained.HASHES).read_text().split()) == 2 + 3


def test_without_the_hashes_file_the_recorded_corpus_is_hashed_or_the_start_refused(public, private, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(public / "public", copy, ignore=shutil.ignore_patterns("checkpoints", pretrained.HASHES))
    _, raw = pretrained.load_config(copy)
    hashes, where = pretrained.public_hashes(copy, raw)
    assert hashes == set(content_hashes(sorted((public / "folk").glob("*.mid")))) and where.startswith("recomputed")
    raw["corpus"]["fingerprint"] = "0" * 16                          # the folder has changed since
    with pytest.raises(ModelError, match="has other files now than when it trained"):
        pretrained.public_hashes(copy, raw)
    raw["corpus"]["path"] = str(tmp_path / "gone")
    with pytest.raises(ModelError, match=r"has no corpus_hashes.txt and the corpus folder it names .* is not here"):
        pretrained.public_hashes(copy, raw)


def test_another_representation_or_size_is_one_line_naming_it(public, private, tmp_path):
    cfg = dataclasses.replace(small(init_from=str(public / "public")), model=ModelConfig(latent=4, width=16, embed=2))
    with pytest.raises(ModelError, match=r"other settings \(model.width 8 there, 16 here\)"):
        training.train(cfg, private, tmp_path / "m", progress=False, print_fn=str, jobs=1)
    cfg = small(init_from=str(tmp_path / "nowhere"))
    with pytest.raises(ModelError, match="config.json is missing"):
        training.train(cfg, private, tmp_path / "m", progress=False, print_fn=str, jobs=1)
    broken = tmp_path / "broken"
    shutil.copytree(public / "public", broken)
    (broken / "discriminator.h5").write_bytes(b"not hdf5")
    with pytest.raises(ModelError, match="cannot load .*discriminator.h5"):
        pretrained.load_networks(trainer.GAN(small()), broken)


def test_the_optimizers_state_is_taken_from_the_public_checkpoint(public, tmp_path):
    gan = trainer.GAN(small())
    assert int(gan.d_opt.iterations.numpy()) == 0
    pretrained.load_optimizers(gan, public / "public")
    steps = json.loads((public / "public" / "config.json").read_text())["batch"]["iterations_per_epoch"]
    assert int(gan.d_opt.iterations.numpy()) == int(gan.g_opt.iterations.numpy()) == steps > 1   # its 1 epoch
    assert any(np.any(v.numpy()) for v in gan.d_opt.variables[2:])
    shutil.copytree(public / "public", tmp_path / "p", ignore=shutil.ignore_patterns("checkpoints"))
    with pytest.raises(ModelError, match="holds no checkpoint"):
        pretrained.load_optimizers(gan, tmp_path / "p")


def test_frozen_blocks_do_not_move_and_shrink_the_private_gradient(public, private):
    cfg = small(dp=True, init_from=str(public / "public"), d_train_blocks=1)
    gan = privacy.PrivateGAN(cfg)
    names = {layer.name for layer in gan.discriminator.layers}
    assert set(pretrained.D_BLOCKS + pretrained.D_HEAD) <= names          # the names models/gan.py gives
    all_weights = len(gan.discriminator.trainable_weights)
    counts = pretrained.freeze(gan.discriminator, 1)
    trained = {w.path for w in gan.discriminator.trainable_weights}
    assert len(trained) == 6 < all_weights and all(p.split("/")[0] in ("d_bar_conv", "d_features", "logit")
                                                    for p in trained)
    assert counts == (sum(w.numpy().size for w in gan.discriminator.trainable_weights),
                      sum(w.numpy().size for w in gan.discriminator.weights))
    before = {w.path: w.numpy().copy() for w in gan.discriminator.weights}
    rows = privacy.batches(_rows(private), [np.arange(6)])
    out = gan.d_step(next(rows))
    assert np.isfinite(float(out["d_loss"]))
    for w in gan.discriminator.weights:
        assert np.array_equal(before[w.path], w.numpy()) != (w.path in trained), w.path


def _rows(folder):
    from musicgan.data.corpus import prepare
    return prepare(folder, progress=False, jobs=1).rows()


def test_fine_tuning_flags_and_their_errors():
    args = build_train_parser().parse_args(["--dp", "--init-from", "models/folk", "--d-train-blocks", "1",
                                            "--init-optimizer"])
    t = train_config(args).train
    assert t.init_from == "models/folk" and t.d_train_blocks == 1 and t.init_optimizer
    assert train_config(build_train_parser().parse_args([])).train.init_from is None
    with pytest.raises(ConfigError, match="need --init-from"):
        train_config(build_train_parser().parse_args(["--d-train-blocks", "1"]))
    with pytest.raises(ConfigError, match="d_train_blocks must be 0-4"):
        TrainConfig(init_from="x", d_train_blocks=5)


def test_a_resumed_fine_tuning_keeps_its_record_and_does_not_reload_the_public_weights(public, private, tmp_path):
    cfg = small(init_from=str(public / "public"), epochs=1)
    training.train(cfg, private, tmp_path / "m", progress=False, print_fn=str, jobs=1)
    first = json.loads((tmp_path / "m" / "config.json").read_text())["init_from"]
    cfg.train.epochs = 2
    said = []
    gan = training.train(cfg, private, tmp_path / "m", resume=True, progress=False, print_fn=said.append, jobs=1)
    assert json.loads((tmp_path / "m" / "config.json").read_text())["init_from"] == first
    assert not any(s.startswith("starting from") for s in said) and int(gan.epoch.numpy()) == 2
