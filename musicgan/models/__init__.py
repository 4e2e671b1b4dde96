"""The networks and their files: the GAN's Keras models and losses, the numpy runtime, loading a model folder."""
