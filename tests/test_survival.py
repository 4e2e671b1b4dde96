"""What survives what: kills at chosen moments, signals mid-iteration, damaged checkpoints, a full disk,
two runs in one folder, --fresh. Each test injects the fault at a chosen point of a tiny run."""

import csv
import json
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from musicgan.cli import train_main
from musicgan.core.errors import Interrupted, UserError
from musicgan.core.files import folder_lock
from musicgan.data.corpus import prepare
from musicgan.train import checkpoints, signals, trainer
from musicgan.train import loop as training

from .conftest import write_midi
from .test_training import tiny_config

TINY = {"model": {"latent": 4, "width": 8, "embed": 2},        # float32, as tiny_config: runs compared to its rounding
        "train": {"save_every": 1, "sample_every": 1, "precision": "float32"}}


class Killed(BaseException):
    """Stands for kill -9: nothing catches it, nothing after it runs."""


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("midi")
    for i in range(2):
        write_midi(root / f"s{i}.mid", bars=8)
    prepare(root, progress=False, jobs=1)
    return root


@pytest.fixture(scope="module")
def straight(corpus_dir, tmp_path_factory):
    """An uninterrupted 2-epoch run (5 iterations an epoch): its folder, weights and log."""
    out = tmp_path_factory.mktemp("straight")
    gan = training.train(tiny_config(epochs=2), corpus_dir, out, progress=False, print_fn=str)
    return out, _weights(gan), _log(out)


def _weights(gan):
    return [w.numpy() for w in gan.generator.weights + gan.discriminator.weights]


def _log(folder):
    return list(csv.DictReader((Path(folder) / "training_log.csv").read_text().splitlines()))


def _same_log(a, b):
    assert [r["epoch"] for r in a] == [r["epoch"] for r in b]
    for ra, rb in zip(a, b):
        for k in ra:
            if k != "seconds":
                assert float(ra[k]) == pytest.approx(float(rb[k]), abs=2e-5), (k, ra, rb)


def _restored_weights(folder, epochs=2):
    """The weights in `folder`'s newest checkpoint."""
    gan = trainer.GAN(tiny_config(epochs=epochs))
    gan.checkpoint.restore(tf.train.latest_checkpoint(str(Path(folder) / "checkpoints"))).assert_existing_objects_matched()
    return _weights(gan)


def _close(a, b):
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, atol=1e-6)


@pytest.fixture
def signals_raise():
    """SIGTERM and SIGHUP raise instead of killing pytest if training does not handle them."""
    def fail(signum, frame):
        raise AssertionError(f"{signal.Signals(signum).name} reached the test's handler")
    saved = {s: signal.signal(s, fail) for s in (signal.SIGTERM, signal.SIGHUP)}
    yield
    for s, h in saved.items():
        signal.signal(s, h)


def test_signals_stop_between_iterations_and_resume_equals_a_straight_run(corpus_dir, straight, tmp_path,
                                                                          monkeypatch, capsys, signals_raise):
    # each signal lands inside an iteration, after its D step and before its G step: Ctrl-C in epoch 1's
    # third, SIGTERM in its last (the epoch then ends whole, with its checkpoint)
    plan = {2: signal.SIGINT, 4: signal.SIGTERM}
    real = trainer.GAN.g_batch

    def g_batch(self, batch, step):
        if step in plan:
            signal.raise_signal(plan.pop(step))
        return real(self, batch, step)

    monkeypatch.setattr(trainer.GAN, "g_batch", g_batch)
    (tmp_path / "tiny.json").write_text(json.dumps(TINY))
    args = ["--data", str(corpus_dir), "--models", str(tmp_path / "m"), "--config", str(tmp_path / "tiny.json"),
            "--epochs", "2", "--batch-size", "16", "--quiet"]
    said = []
    for resume, code in (([], 130), (["--resume"], 143)):
        assert train_main(args + resume) == code
        out, err = capsys.readouterr()
        said.append(err.strip().splitlines()[-1])
        assert "models written" not in out
    ckpt = tmp_path / "m" / "checkpoints"
    assert said == [f"interrupted by SIGINT: saved at epoch 1, iteration 3 in {ckpt}; continue with --resume",
                    f"interrupted by SIGTERM: saved after epoch 1 in {ckpt}; continue with --resume"]
    assert train_main(args + ["--resume"]) == 0 and "models written" in capsys.readouterr().out
    _close(_restored_weights(tmp_path / "m"), straight[1])
    _same_log(_log(tmp_path / "m"), straight[2])          # the interrupted epoch's means count every iteration


def test_sighup_is_ctrl_c_and_a_second_signal_stops_at_once(signals_raise):
    with signals.StopSignals() as stop:
        with pytest.raises(Interrupted, match="interrupted by SIGHUP before training started") as before:
            signal.raise_signal(signal.SIGHUP)
        stop.deferred = True
        signal.raise_signal(signal.SIGHUP)                 # noted, for the loop to stop after the iteration
        assert stop.signum == signal.SIGHUP and stop.interrupted("saved").exit_code == 129
        with pytest.raises(Interrupted, match="interrupted by SIGINT again: stopped at once, the last checkpoint"):
            signal.raise_signal(signal.SIGINT)
    assert before.value.exit_code == 129 and signal.getsignal(signal.SIGHUP) is not stop._handle


def test_a_kill_at_any_moment_loses_nothing_already_reported(corpus_dir, straight, tmp_path, monkeypatch):
    real = tf.train.CheckpointManager.save
    plan = []                  # per save: "after" (kill once it is written), "before" (kill instead), or "ok"

    def save(self, *args, **kwargs):
        when = plan.pop(0) if plan else "ok"
        if when == "before":
            raise Killed
        path = real(self, *args, **kwargs)
        if when == "after":
            raise Killed
        return path

    monkeypatch.setattr(tf.train.CheckpointManager, "save", save)
    folder = tmp_path / "m"
    plan[:] = ["after"]                        # killed right after epoch 1's checkpoint
    with pytest.raises(Killed):
        training.train(tiny_config(epochs=2), corpus_dir, folder, progress=False, print_fn=str)
    assert [r["epoch"] for r in _log(folder)] == ["1"]
    assert json.loads((folder / "config.json").read_text())["epochs_trained"] == 1
    assert len(list((folder / "samples").glob("epoch0001_*.mid"))) == 3
    # a kill -9 also leaves the temporary files of a save in progress
    (folder / ".generator.tmp999999.h5").write_bytes(b"half")
    (folder / "checkpoints" / "ckpt-9_temp").mkdir()
    (folder / "checkpoints" / "ckpt-9_temp" / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"half")
    plan[:] = ["before"]                       # killed after epoch 2's files, before its checkpoint
    said = []
    with pytest.raises(Killed):
        training.train(tiny_config(epochs=2), corpus_dir, folder, resume=True, progress=False, print_fn=said.append)
    assert any(s.startswith("removed 2 temporary file(s) that a killed run left") for s in said), said
    assert not list(folder.rglob("*tmp999999*")) and not (folder / "checkpoints" / "ckpt-9_temp").exists()
    gan = training.train(tiny_config(epochs=2), corpus_dir, folder, resume=True, progress=False, print_fn=str)
    _close(_weights(gan), straight[1])                     # epoch 2 redone from epoch 1's checkpoint
    _same_log(_log(folder), straight[2])
    assert json.loads((folder / "config.json").read_text())["epochs_trained"] == 2
    assert (json.loads((folder / "best" / "config.json").read_text())["epochs_trained"]
            == json.loads((straight[0] / "best" / "config.json").read_text())["epochs_trained"])
    assert sorted(p.name for p in (folder / "samples").iterdir()) == sorted(
        p.name for p in (straight[0] / "samples").iterdir())


def test_a_kill_mid_epoch_loses_only_what_came_after_the_last_timed_checkpoint(corpus_dir, straight, tmp_path,
                                                                              monkeypatch):
    real = trainer.GAN.g_batch

    def g_batch(self, batch, step):
        if step == 3:                            # epoch 1's 4th iteration, between its D and G steps
            raise Killed
        return real(self, batch, step)

    monkeypatch.setattr(trainer.GAN, "g_batch", g_batch)
    folder = tmp_path / "m"
    with pytest.raises(Killed):                  # a checkpoint after every iteration, however fast
        training.train(tiny_config(epochs=2), corpus_dir, folder, progress=False, print_fn=str,
                       checkpoint_minutes=1e-12)
    assert not (folder / "training_log.csv").exists()             # epoch 1 never ended
    monkeypatch.setattr(trainer.GAN, "g_batch", real)
    said = []
    gan = training.train(tiny_config(epochs=2), corpus_dir, folder, resume=True, progress=False,
                         print_fn=said.append, checkpoint_minutes=0)
    assert "resumed at epoch 1, iteration 3" in said
    _close(_weights(gan), straight[1])
    _same_log(_log(folder), straight[2])                          # epoch 1's row counts its first 3 iterations


def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before(corpus_dir, straight, tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(straight[0], folder)
    data = folder / "checkpoints" / "ckpt-2.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:100])                     # truncated
    said = []
    gan = training.train(tiny_config(epochs=2), corpus_dir, folder, resume=True, progress=False, print_fn=said.append)
    assert any(s.startswith("warning: checkpoint ckpt-2: ") for s in said), said
    assert "resuming from ckpt-1, the newest checkpoint that restores" in said
    assert "resumed at epoch 2, iteration 0" in said
    _close(_weights(gan), straight[1])
    assert [n for n, _ in checkpoints.listed(folder / "checkpoints")] == [2, 1]     # the broken one is replaced
    _close(_restored_weights(folder), straight[1])


@pytest.mark.parametrize("damage", ["flipped byte", "missing index", "garbage state file", "all broken"])
def test_restore_newest_names_each_damaged_checkpoint(tmp_path, damage):
    v = tf.Variable(tf.range(200.0))
    ckpt = tf.train.Checkpoint(v=v)
    manager = checkpoints.manager(ckpt, tmp_path)
    manager.save()
    v.assign_add(tf.ones(200))
    manager.save()
    if damage == "flipped byte":
        data = bytearray((tmp_path / "ckpt-2.data-00000-of-00001").read_bytes())
        data[40] ^= 0xFF
        (tmp_path / "ckpt-2.data-00000-of-00001").write_bytes(bytes(data))
    elif damage == "missing index":
        (tmp_path / "ckpt-2.index").unlink()
    elif damage == "garbage state file":
        (tmp_path / "checkpoint").write_text("{{{ not a checkpoint state")
    else:
        for p in tmp_path.glob("ckpt-*.index"):
            p.write_bytes(b"junk")
    v.assign(tf.zeros(200))
    said = []
    if damage == "all broken":
        with pytest.raises(trainer.TrainingError, match=r"no checkpoint in .* restores \(ckpt-2: .*; ckpt-1: .*\): "
                           "start over with --fresh"):
            checkpoints.restore_newest(ckpt, tmp_path, said.append)
        return
    restored = checkpoints.restore_newest(ckpt, tmp_path, said.append)
    if damage == "garbage state file":          # the state file is only an index: the files are found
        assert restored.name == "ckpt-2" and said == [] and float(v[0]) == 1.0
    else:
        assert restored.name == "ckpt-1" and said[0].startswith("warning: checkpoint ckpt-2: ") and float(v[0]) == 0.0


def test_a_full_disk_while_checkpointing_is_one_line_and_leaves_the_old_checkpoints(corpus_dir, straight, tmp_path,
                                                                                     monkeypatch, capsys):
    folder = tmp_path / "m"
    shutil.copytree(straight[0], folder)
    before = {p.name: p.read_bytes() for p in (folder / "checkpoints").glob("ckpt-*")}

    def full_disk(self, *args, **kwargs):
        part = Path(self.directory) / "ckpt-3_temp" / "part-00000-of-00001.data-00000-of-00001"
        part.parent.mkdir()
        part.write_bytes(b"\0" * 1000)
        raise tf.errors.ResourceExhaustedError(None, None, f"{part}; No space left on device")

    monkeypatch.setattr(tf.train.CheckpointManager, "save", full_disk)
    (tmp_path / "tiny.json").write_text(json.dumps(TINY))
    assert train_main(["--data", str(corpus_dir), "--models", str(folder), "--config", str(tmp_path / "tiny.json"),
                       "--epochs", "3", "--batch-size", "16", "--quiet", "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: cannot write a checkpoint in {folder / 'checkpoints'} (")
    assert "No space left on device); the checkpoints before it are intact" in err
    assert {p.name: p.read_bytes() for p in (folder / "checkpoints").glob("ckpt-*")} == before
    assert not (folder / ".lock").exists()


def test_an_unwritable_log_folder_is_one_line(corpus_dir, tmp_path, capsys):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "logs").write_text("a file where TensorBoard's folder goes")
    (tmp_path / "tiny.json").write_text(json.dumps(TINY))
    assert train_main(["--data", str(corpus_dir), "--models", str(tmp_path / "m"), "--config",
                       str(tmp_path / "tiny.json"), "--epochs", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot write TensorBoard logs in {tmp_path / 'm' / 'logs'}" in err
    assert train_main(["--data", str(corpus_dir), "--models", str(tmp_path / "m" / "logs" / "x"), "--quiet"]) == 2
    assert "cannot write in" in capsys.readouterr().err


def test_a_second_run_into_a_folder_in_use_is_refused_and_a_dead_holder_is_taken_over(corpus_dir, tmp_path):
    folder = tmp_path / "m"
    hold = ("import sys, time\nfrom musicgan.core.files import folder_lock\n"
            "with folder_lock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(60)")
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, str(folder)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(UserError, match=rf"{folder} is in use by another training run \(process {holder.pid} on "):
            training.train(tiny_config(), corpus_dir, folder, progress=False, print_fn=str)
    finally:
        holder.kill()                            # kill -9: it leaves its lock file behind
        holder.wait()
    said = []
    with folder_lock(folder, said.append):
        assert said == [(f"taking over the lock of process {holder.pid} on {socket.gethostname()}, which is no "
                         f"longer running ({folder / '.lock'})")]
    assert not (folder / ".lock").exists()


def test_fresh_deletes_the_old_runs_best_samples_and_log(corpus_dir, straight, tmp_path, monkeypatch):
    folder = tmp_path / "m"
    shutil.copytree(straight[0], folder)

    def started(*args, **kwargs):                 # stop the run right after its start
        raise Killed

    monkeypatch.setattr(training, "prepare", started)
    with pytest.raises(Killed):
        training.train(tiny_config(epochs=1), corpus_dir, folder, fresh=True, progress=False, print_fn=str)
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "corpus_hashes.txt", "discriminator.h5",
                                                        "gan.h5", "generator.h5"]
    with pytest.raises(trainer.TrainingError, match=r"holds best/ and samples/ of an earlier run: start over with "
                       "--fresh"):          # nor may a plain start mix with an earlier run's best and samples
        (folder / "best").mkdir()
        (folder / "samples").mkdir()
        training.train(tiny_config(epochs=1), corpus_dir, folder, progress=False, print_fn=str)
