"""Which precision trains: float32, or mixed precision where the hardware multiplies in 16 bits faster.

Mixed precision keeps every weight in float32 and computes the layers in bfloat16 (CPUs with native
bfloat16 matmul: AVX-512 BF16 or AMX) or float16 (GPUs, with loss scaling against underflow). The
parts that need the range stay float32 (`models.gan`): the token softmax and the critic's logit, so
the Gumbel noise, the losses and the gradient penalty's norm are float32 too. Saved .h5 files are
float32 (`GAN.exported`), so generation does not depend on how the model was trained.
"""

import os
from pathlib import Path

BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")     # /proc/cpuinfo flags of native bfloat16 matmul
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}


def choose(requested, has_gpu, cpu_flags, onednn=True):
    """The precision that `requested` means on this hardware: 'auto' -> float16 (mixed) with a GPU,
    bfloat16 (mixed) on a CPU with native bfloat16 matmul when TensorFlow's oneDNN kernels are on
    (without them TensorFlow emulates bfloat16: a step ran 0.06x float32, bench/RESULTS.md), else
    float32; any other value as given."""
    if requested != "auto":
        return requested
    if has_gpu:
        return "float16"
    return "bfloat16" if onednn and set(BF16_CPU_FLAGS) & set(cpu_flags) else "float32"


def cpu_flags(path="/proc/cpuinfo"):
    """The CPU's feature flags (empty where /proc/cpuinfo does not exist, as on macOS)."""
    try:
        text = Path(path).read_text()
    except OSError:
        return set()
    return {f for line in text.splitlines() if line.startswith("flags") for f in line.split(":", 1)[1].split()}


def resolve(requested):
    """`choose` for this machine: TensorFlow's GPUs and /proc/cpuinfo."""
    if requested != "auto":
        return requested
    import tensorflow as tf

    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1").strip().lower() not in ("0", "false")
    return choose(requested, bool(tf.config.list_physical_devices("GPU")), cpu_flags(), onednn)


def native_bfloat16():
    """Whether this machine multiplies bfloat16 natively (a GPU, or a CPU with one of BF16_CPU_FLAGS)."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU")) or bool(set(BF16_CPU_FLAGS) & cpu_flags())


def describe(requested, chosen, native=True):
    """One line for the start of training; with `native` False, a bfloat16 that was asked for says that it
    is emulated here (a config copied from a model trained on another machine asks for it, say)."""
    why = {"float16": "a GPU: float16 with loss scaling", "bfloat16": "the CPU multiplies bfloat16 natively",
           "float32": "no GPU, and no native bfloat16 matmul or oneDNN off"}[chosen]
    mode = "float32" if chosen == "float32" else f"mixed {chosen} (float32 weights, softmax, logit and losses)"
    line = f"precision: {mode}" + (f"  (auto: {why})" if requested == "auto" else "")
    if chosen == "bfloat16" and not native:
        line += ("  (warning: this CPU has no native bfloat16 matmul, so TensorFlow emulates it at about a "
                 "tenth of float32's speed; --precision auto picks float32 here)")
    return line
