"""Chords: the vocabulary of chord ids and features, recognition from pitch classes, typed symbols."""
