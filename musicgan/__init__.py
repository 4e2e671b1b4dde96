"""musicgan: a conditional GAN that learns melodies over chords from MIDI and writes new songs."""

import os

__version__ = "0.1.0"

# TensorFlow's C++ info and warning lines are not for users; its errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
