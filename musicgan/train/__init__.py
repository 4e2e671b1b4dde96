"""Training: the trainer (networks, optimizers, steps), the loop (epochs, checkpoints, resume), its hooks,
tf.distribute and differential privacy."""
