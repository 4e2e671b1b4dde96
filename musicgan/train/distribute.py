"""Which tf.distribute strategy trains: this process alone, the devices of one machine, or several machines.

Every strategy runs the same steps on a global batch split over its replicas; see `trainer.GAN`.
"""

import json
import os
import re
import zlib

import numpy as np
import tensorflow as tf

from ..core.constants import STRATEGIES, WORKER_TIMEOUT
from ..core.errors import ConfigError, UserError


def parse_workers(text, task_index):
    """'host:port,host:port' and this machine's index -> a TF_CONFIG dict."""
    workers = [w.strip() for w in text.split(",") if w.strip()]
    bad = [w for w in workers if w.rpartition(":")[0] == "" or not w.rpartition(":")[2].isdigit()]
    if not workers or bad:
        raise ConfigError(f"--workers wants host:port,host:port,... (got {text!r})")
    if task_index is None or not 0 <= task_index < len(workers):
        raise ConfigError(f"--task-index must be this machine's place in --workers, 0-{len(workers) - 1}")
    return {"cluster": {"worker": workers}, "task": {"type": "worker", "index": task_index}}


def _tf_config():
    try:
        return json.loads(os.environ.get("TF_CONFIG") or "{}")
    except ValueError as e:
        raise ConfigError(f"TF_CONFIG is not valid JSON ({e})") from None


def _split_cpu(replicas):
    """Present the CPU as `replicas` logical devices (possible only before TensorFlow starts its runtime)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * replicas)
    except RuntimeError:
        pass                                      # already initialised: fine if it has the devices we want
    devices = tf.config.list_logical_devices("CPU")
    if len(devices) != replicas:
        raise ConfigError(f"TensorFlow started with {len(devices)} CPU device(s) before {replicas} could be set up")
    return [d.name for d in devices]


def make_strategy(name="auto", workers=None, task_index=None, replicas=None, timeout=WORKER_TIMEOUT,
                  print_fn=print):
    """The tf.distribute strategy for `--strategy NAME`.

    auto: multiworker when --workers or TF_CONFIG names a cluster, mirrored over several GPUs, else default.
    mirrored: this machine's GPUs (the first `replicas`), or without GPUs the CPU split into `replicas`
    logical devices (default 2). multiworker: one process per machine, the cluster from --workers /
    --task-index or TF_CONFIG; worker 0 (or the 'chief' task) is the chief.
    """
    if name not in STRATEGIES:
        raise ConfigError(f"--strategy must be one of {', '.join(STRATEGIES)}, got {name!r}")
    if replicas is not None and replicas < 1:
        raise ConfigError(f"--replicas must be at least 1, got {replicas}")
    config = parse_workers(workers, task_index) if workers else _tf_config()
    cluster = config.get("cluster", {})
    gpus = tf.config.list_physical_devices("GPU")
    if name == "auto":
        name = "multiworker" if cluster else "mirrored" if len(gpus) > 1 else "default"
    if workers and name != "multiworker":
        raise ConfigError(f"--workers is for --strategy multiworker, not {name}")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = [f"/gpu:{i}" for i in range(len(gpus))][:replicas] if gpus else _split_cpu(replicas or 2)
        return tf.distribute.MirroredStrategy(devices)
    if not cluster:
        raise ConfigError("--strategy multiworker needs the cluster: --workers host:port,... --task-index i, "
                         "or TF_CONFIG (see README, 'Training on several machines')")
    task, addresses = config["task"], [a for job in cluster.values() for a in job]
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster), task_type=task["type"], task_id=task["index"], rpc_layer="grpc")
    # The start-up barrier waits forever by default; a private knob of TF's (documented in its source)
    # bounds it. A worker that dies later is found by MWMS's own health check (every 30 s), which aborts
    # the collectives. No CommunicationOptions(timeout_seconds=...): in TF 2.21 every collective run with
    # a timeout leaves a thread behind (~12 per training step), and a long run dies of it.
    from tensorflow.python.distribute import collective_all_reduce_strategy as mwms
    mwms.CollectiveAllReduceExtended._check_health_initial_timeout = timeout
    print_fn(f"{task['type']} {task['index']} of {len(addresses)} ({', '.join(addresses)}): waiting up to "
             f"{timeout:g} s for the others to start")
    try:
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
    except RuntimeError as e:
        raise UserError(f"not all workers of {cluster} started within {timeout} s ({e}); start the same "
                           "command on every machine, each with its own --task-index") from None


def is_chief(strategy):
    """Whether this process writes models/ (the default and mirrored strategies: always)."""
    return strategy.extended.should_checkpoint


def fingerprint(*parts):
    """A 24-bit checksum of arrays and strings (exact in float32)."""
    crc = 0
    for p in parts:
        crc = zlib.crc32(p.encode() if isinstance(p, str) else np.ascontiguousarray(p).tobytes(), crc)
    return crc & 0xFFFFFF


def same_everywhere(strategy, value):
    """True when every replica passed the same integer (< 2^24): each puts it in its own slot, all sum."""
    n = strategy.num_replicas_in_sync

    def slot():
        ctx = tf.distribute.get_replica_context()
        return tf.one_hot(ctx.replica_id_in_sync_group, n) * float(value)

    seen = strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(tf.function(slot)), axis=None).numpy()
    return bool(np.all(seen == seen[0]))


def broadcast_from_chief(strategy, variables):
    """Give every worker the chief's values of `variables` (only the chief restored a checkpoint)."""
    share = (1.0 if is_chief(strategy) else 0.0) / len(strategy.extended.worker_devices)

    def replica_fn():
        ctx = tf.distribute.get_replica_context()
        return ctx.all_reduce(tf.distribute.ReduceOp.SUM, [tf.cast(v, tf.float64) * share for v in variables])

    @tf.function
    def sync():
        values = strategy.run(replica_fn)
        for v, x in zip(variables, values):
            v.assign(tf.cast(strategy.experimental_local_results(x)[0], v.dtype))

    sync()


LOST_WORKER = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError,
               tf.errors.AbortedError)


def lost_whom(message, cluster):
    """Who stopped answering: the tasks TF's health check names ("...unhealthy...: /job:worker/replica:0/task:1")
    or the cluster address a collective could not reach; else TF's first line without its function name."""
    tasks = set(re.findall(r"/job:(\w+)/replica:\d+/task:(\d+)", message.partition("unhealthy")[2]))
    tasks |= {(job, str(i)) for job, addresses in cluster.items() for i, address in enumerate(addresses)
              if re.search(re.escape(address) + r"(?!\d)", message)}
    if tasks:
        return ", ".join(f"{job} {i}" for job, i in sorted(tasks)) + " stopped answering"
    return re.sub(r"\{\{function_node [^}]*\}\}\s*", "", message.strip().splitlines()[0])
