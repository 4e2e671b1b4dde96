"""MIDI corpora -> cached phrase arrays -> tf.data: phrases, the corpus and its cache, the split, batches."""
