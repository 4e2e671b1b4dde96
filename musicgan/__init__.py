"""musicgan: a conditional GAN that learns melodies over chords from MIDI and writes new songs."""

import os

__version__ = "0.1.0"

# TensorFlow's C++ start-up chatter is not for users; real errors still show. oneDNN's custom ops
# are off so that results repeat bit for bit (resume, --seed); measured in bench/ (see RESULTS).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
