"""The autoregressive rival (Magenta's Improv RNN, in Keras): an LSTM that reads the previous token, the
chord and the metrical position at every 16th step and gives the next token's probabilities.

Shapes: tokens (B, T) int, the token BEFORE each step (REST before the first); conditions (B, T,
STEP_CONDITION_DIM): the 8th-note slot's chord and meter features (`data.pipeline.conditions`, the
GAN's), then the step's parity in its slot (0 on the slot, 1 on its second 16th); out (B, T, VOCAB)
probabilities of the token AT each step. A training row is the `context_steps` before a phrase (their
conditions all zeros but the parity: no chord or meter is known there) then the phrase, and only the phrase's steps are scored;
generation runs the same cells step by step over a whole song (`numpy_runtime.NumpyLSTM`).

The token enters as a one-hot through a learned square map (an Embedding of VOCAB x VOCAB: the same
function as a one-hot into the LSTM's kernel, without a VOCAB-wide matmul a step).
"""

import keras
from keras import layers

from ..core import constants as C
from .gan import _policy

STEP_CONDITION_DIM = C.STEP_CONDITION_DIM
EMBED, CELL, OUT = "lstm_embed", "lstm_{}", "tokens"      # layer names numpy_runtime reads


def build_lstm(cfg, policy="float32", for_training=False):
    """lstm(tokens, conditions) -> (B, T, VOCAB) next-token probabilities (float32). `for_training`: also
    the model that takes one keep-mask (B, T, units) per layer, already scaled by 1 / (1 - dropout), and
    applies it to that layer's output (dropout whose randomness comes with the batch, so a resumed run
    draws the same), sharing every layer with the first. Returns the model, or (model, training model)."""
    with _policy(policy):
        tokens = keras.Input((None,), dtype="int32", name="tokens_in")
        cond = keras.Input((None, STEP_CONDITION_DIM), name="conditions")
        masks = [keras.Input((None, cfg.lstm_units), name=f"keep_{i + 1}") for i in range(cfg.lstm_layers)]
        embed = layers.Embedding(C.VOCAB_SIZE, C.VOCAB_SIZE, name=EMBED)
        cells = [layers.LSTM(cfg.lstm_units, return_sequences=True, name=CELL.format(i + 1))
                 for i in range(cfg.lstm_layers)]
        out = layers.Dense(C.VOCAB_SIZE, activation="softmax", dtype="float32", name=OUT)

        def forward(keep=None):
            x = layers.Concatenate(name="lstm_in" if keep is None else "lstm_in_train")([embed(tokens), cond])
            for i, cell in enumerate(cells):
                x = cell(x)
                if keep is not None:
                    x = layers.Multiply(name=f"dropout_{i + 1}")([x, keep[i]])
            return out(x)

        model = keras.Model([tokens, cond], forward(), name="lstm")
        if not for_training:
            return model
        return model, keras.Model([tokens, cond, *masks], forward(masks), name="lstm_training")
