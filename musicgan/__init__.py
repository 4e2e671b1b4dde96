"""musicgan: a conditional GAN that learns melodies over chords from MIDI and writes new songs."""

import os

__version__ = "0.1.0"

# TensorFlow's C++ info and warning lines are not for users; its errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# numpy's matrices here are small (a generator forward pass is ~64x760 @ 760x128): OpenBLAS threads only
# add hand-off cost, 10-50x of it when the machine is busy (bench/RESULTS.md). Takes effect when
# musicgan is imported before numpy, as in generate.py and train.py.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def quiet_tensorflow_import():
    """Import TensorFlow with fd 2 closed: its start-up notices (oneDNN, CPU features) are printed
    by C++ before TF_CPP_MIN_LOG_LEVEL applies. Python errors of the import still surface."""
    import sys

    if "tensorflow" in sys.modules:
        return
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
