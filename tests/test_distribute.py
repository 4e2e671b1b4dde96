"""tf.distribute: 2 replicas train the weights of 1 on the same global batch; 2 workers on 127.0.0.1.

Strategies need a fresh TensorFlow (logical devices, a cluster), so each runs in a subprocess
(tests/distributed_run.py) with a bounded time.
"""

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bench.distributed_speed import free_ports
from musicgan.cli import build_train_parser, train_main
from musicgan.core.config import Config
from musicgan.train import distribute, trainer
from musicgan.train import loop as training

from .conftest import write_midi
from .distributed_run import config, train_steps, weights
from .test_training import tiny_config

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 600          # seconds a subprocess may take before the test fails (it takes ~10-30 s)


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("midi")
    for i in range(2):
        write_midi(root / f"s{i}.mid", bars=8)       # 66 phrases: batches of 16 end with a short one of 2
    return root


def _spawn(*args, tmpdir=None, program=("-m", "tests.distributed_run")):
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    if tmpdir:
        env["TMPDIR"] = str(tmpdir)
    return subprocess.Popen([sys.executable, *program, *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc, returncode=0):
    try:
        out, _ = proc.communicate(timeout=LIMIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"no result within {LIMIT} s:\n{out[-3000:]}")
    assert proc.returncode == returncode, out[-3000:]
    return out


def _assert_same(a, b, atol):
    assert len(a) and sorted(a) == sorted(b)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], atol=atol, rtol=0)


def test_mirrored_over_two_cpus_gives_the_weights_of_one_replica(corpus_dir, tmp_path):
    _finish(_spawn("mirrored", corpus_dir, tmp_path))                # 5 iterations, the last of 2 phrases
    one, two = dict(np.load(tmp_path / "default.npz")), dict(np.load(tmp_path / "mirrored.npz"))
    _assert_same(one, two, atol=1e-5)
    assert any(np.abs(one[k]).max() > 0.05 for k in one)      # not an untouched all-zero model


def test_two_workers_resume_a_run_train_alike_and_only_the_chief_writes(corpus_dir, tmp_path):
    straight = train_steps(config(3), corpus_dir)
    training.train(config(1), corpus_dir, tmp_path / "m0", progress=False, print_fn=str)
    workers = ",".join(f"127.0.0.1:{p}" for p in free_ports(2))
    (tmp_path / "tmp1").mkdir()
    procs = [_spawn("worker", corpus_dir, tmp_path / f"m{i}", tmp_path / f"w{i}.npz", workers, i, 3, "--resume",
                    tmpdir=tmp_path / "tmp1" if i else None) for i in range(2)]
    outs = [_finish(p) for p in procs]
    waiting = [f"worker {i} of 2 ({workers.replace(',', ', ')}): waiting up to 300 s" for i in range(2)]
    assert all("resumed at epoch 2, iteration 0" in o and w in o for o, w in zip(outs, waiting))
    assert "batch B=16 (global = 2 replicas x 8)" in outs[0]
    w0, w1 = dict(np.load(tmp_path / "w0.npz")), dict(np.load(tmp_path / "w1.npz"))
    threads = w0.pop("threads"), w1.pop("threads")
    assert all(len(t) == 10 and t[-1] - t[1] < 10 for t in threads), threads   # no thread left per step
    _assert_same(w0, w1, atol=0)                                     # one model on every worker
    _assert_same(w0, weights(straight), atol=1e-5)     # 1 epoch on 1 replica + 2 on 2 workers == 3 on 1 replica
    assert not (tmp_path / "m1").exists() and not any((tmp_path / "tmp1").iterdir())
    log = list(csv.DictReader((tmp_path / "m0" / "training_log.csv").read_text().splitlines()))
    assert [r["epoch"] for r in log] == ["1", "2", "3"]
    assert {"generator.h5", "config.json"} <= {p.name for p in (tmp_path / "m0").iterdir()}


def test_a_worker_that_dies_stops_the_others_with_one_line(corpus_dir, tmp_path):
    settings = tmp_path / "tiny.json"
    settings.write_text(json.dumps(tiny_config(epochs=10_000, sample_every=10_000, save_every=1).to_dict()))
    workers = ",".join(f"127.0.0.1:{p}" for p in free_ports(2))
    procs = [_spawn("--strategy", "multiworker", "--workers", workers, "--task-index", i, "--data",
                    corpus_dir, "--models", tmp_path / f"m{i}", "--config", settings, "--quiet", program=["train.py"])
             for i in range(2)]
    deadline = time.monotonic() + LIMIT
    while not (tmp_path / "m0" / "training_log.csv").exists():    # the chief has trained an epoch
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), _finish(procs[0], None)
        time.sleep(0.2)
    procs[1].kill()
    out = _finish(procs[0], returncode=2)            # TF's health check finds the dead peer within ~40 s
    procs[1].communicate()
    assert out.strip().splitlines()[-1] == (
        "error: lost another worker (worker 1 stopped answering), so every worker stops; start them all again "
        f"with --resume (the chief's last checkpoint is in {tmp_path / 'm0' / 'checkpoints'})")
    assert (tmp_path / "m0" / "checkpoints" / "checkpoint").exists()


def test_the_lost_worker_is_named_from_either_of_tensorflows_messages():
    cluster = {"worker": ["127.0.0.1:3619", "127.0.0.1:36199"]}
    heartbeat = ("{{function_node __wrapped__CollectiveReduceV2_device_/job:worker/replica:0/task:0/device:CPU:0}} "
                 "Collective ops is aborted by: Error reported from /job:worker/task:1: The following tasks are "
                 "unhealthy (stopped sending heartbeats):\n/job:worker/replica:0/task:1\nThe tasks have crashed.")
    refused = ("{{function_node __wrapped__CollectiveReduceV2}} Collective ops is aborted by: failed to connect to all "
               "addresses; last error: UNKNOWN: ipv4:127.0.0.1:36199: Failed to connect to remote host: Connection "
               "refused\nmore")
    for message in (heartbeat, refused):
        assert distribute.lost_whom(message, cluster) == "worker 1 stopped answering"
    assert distribute.lost_whom("{{function_node f}} Collective ops timed out\nmore", cluster) == \
        "Collective ops timed out"


def test_a_batch_that_does_not_split_is_refused(corpus_dir, tmp_path):
    class TwoReplicas:                          # the strategy facts train() reads before any step
        num_replicas_in_sync = 2
    with pytest.raises(trainer.TrainingError, match="batch size 15 does not split over 2 replicas: "
                                                     "--batch-size is the global batch, use a multiple of 2"):
        training.train(tiny_config(batch_size=15), corpus_dir, tmp_path, strategy=TwoReplicas())


def test_auto_learning_rate_scaling_only_for_a_distributed_batch_above_the_reference():
    t = tiny_config(batch_size=256).train
    assert t.lr_scaling == "auto" and t.for_replicas(1).lr_scaling == "none"
    assert t.for_replicas(4).lr_scaling == "linear" and t.for_replicas(4).lr_factor() == 4
    assert tiny_config(batch_size=64).train.for_replicas(4).lr_scaling == "none"
    assert tiny_config(batch_size=256, lr_scaling="sqrt").train.for_replicas(4).lr_scaling == "sqrt"
    s = training.batch_summary(Config(train=t.for_replicas(4)), 1000, replicas=4)
    assert "batch B=256 (global = 4 replicas x 64)" in training.format_batch_summary(s)
    assert s["g_lr"] == pytest.approx(4e-4) and s["warmup_steps"] == 4


def test_strategy_choices_and_cluster_errors(monkeypatch, capsys):
    assert build_train_parser().parse_args([]).strategy == "auto"
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.make_strategy("auto").num_replicas_in_sync == 1
    assert distribute.parse_workers("a:1, b:2", 1) == {"cluster": {"worker": ["a:1", "b:2"]},
                                                        "task": {"type": "worker", "index": 1}}
    for workers, index, message in (("a:1,b", 0, "host:port"), ("a:1,b:2", 2, "--task-index"),
                                    ("a:1,b:2", None, "--task-index")):
        with pytest.raises(ValueError, match=message):
            distribute.parse_workers(workers, index)
    with pytest.raises(ValueError, match="--workers is for --strategy multiworker, not mirrored"):
        distribute.make_strategy("mirrored", "a:1,b:2", 0)
    with pytest.raises(ValueError, match="needs the cluster"):
        distribute.make_strategy("multiworker")
    monkeypatch.setenv("TF_CONFIG", "{oops")
    assert train_main(["--strategy", "multiworker", "--quiet"]) == 2
    assert "error: TF_CONFIG is not valid JSON" in capsys.readouterr().err
