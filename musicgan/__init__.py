"""musicgan: a conditional GAN that learns melodies over chords from MIDI and writes new songs."""

__version__ = "0.1.0"
