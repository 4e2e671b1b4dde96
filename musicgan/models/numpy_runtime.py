"""The generator's forward pass (and the LSTM's steps) in numpy, read from .h5 with h5py: generation without TensorFlow.

It follows the functional graph Keras saved in the file (`model_config`) for the layer kinds that
`networks.build_generator` uses. A file with any other layer or option raises `Unsupported`, and
the caller loads it with Keras instead. Importing TensorFlow is ~2.5 s of a 16-bar generate.py
run, and a Keras call ~12 ms per phrase against ~1 ms here (bench/RESULTS.md).
"""

import json
from collections import namedtuple

import h5py
import numpy as np

Tensor = namedtuple("Tensor", "name shape")   # what generation reads of a Keras input or output


class Unsupported(ValueError):
    """The file holds a layer or option this reader does not implement; load it with Keras."""


def _activation(name):
    if name == "linear":
        return lambda x: x
    if name == "relu":
        return lambda x: np.maximum(x, 0)
    if name == "softmax":
        def softmax(x):
            e = np.exp(x - x.max(-1, keepdims=True))
            return e / e.sum(-1, keepdims=True)
        return softmax
    raise Unsupported(f"activation {name!r}")


def _conv1d(x, kernel, bias, padding, dilation=1):
    """Stride-1 Conv1D over (B, T, C) with kernel (k, C, F), as TensorFlow pads 'same'."""
    span = (kernel.shape[0] - 1) * dilation                                      # the filter's reach - 1
    if padding == "same":
        x = np.pad(x, ((0, 0), (span // 2, span - span // 2), (0, 0)))
    steps = x.shape[1] - span
    columns = np.concatenate([x[:, j:j + steps] for j in range(0, span + 1, dilation)], -1)   # (B, T, k * C)
    return columns @ kernel.reshape(-1, kernel.shape[-1]) + bias


def _layer_fn(kind, cfg, weights):
    """A function of the layer's list of inputs, or Unsupported."""
    def need(key, *allowed):
        if cfg.get(key) not in allowed:
            raise Unsupported(f"{kind} with {key}={cfg.get(key)!r}")

    if kind in ("Dense", "Conv1D"):
        act = _activation(cfg["activation"])
        if kind == "Dense" and not cfg.get("use_bias", True):
            return lambda xs: act(xs[0] @ weights[0])
        need("use_bias", True)
        kernel, bias = weights
        if kind == "Dense":
            return lambda xs: act(xs[0] @ kernel + bias)
        need("strides", [1])
        need("groups", 1)
        need("padding", "same", "valid")
        need("data_format", "channels_last")
        dilation = cfg["dilation_rate"][0]
        return lambda xs: act(_conv1d(xs[0], kernel, bias, cfg["padding"], dilation))
    if kind == "Embedding":
        return lambda xs: weights[0][xs[0]]
    if kind == "Flatten":
        return lambda xs: xs[0].reshape(len(xs[0]), -1)
    if kind == "Reshape":
        return lambda xs: xs[0].reshape((len(xs[0]), *cfg["target_shape"]))
    if kind == "Add":
        return lambda xs: sum(xs[1:], xs[0])
    if kind == "Concatenate":
        return lambda xs: np.concatenate(xs, cfg["axis"])
    if kind == "UpSampling1D":
        return lambda xs: np.repeat(xs[0], cfg["size"], 1)
    if kind == "AveragePooling1D":
        size = cfg["pool_size"][0] if isinstance(cfg["pool_size"], list) else cfg["pool_size"]
        need("strides", [size], size)
        need("padding", "valid")
        need("data_format", "channels_last")
        return lambda xs: xs[0][:, :xs[0].shape[1] // size * size].reshape(
            len(xs[0]), -1, size, xs[0].shape[2]).mean(2)
    if kind == "LeakyReLU":
        slope = np.float32(cfg["negative_slope"])
        return lambda xs: np.where(xs[0] > 0, xs[0], slope * xs[0])
    if kind == "Activation":
        act = _activation(cfg["activation"])
        return lambda xs: act(xs[0])
    raise Unsupported(f"layer {kind}")


def _names(entries):
    """Layer names of a config's input_layers / output_layers: [name, 0, 0] alone, or a list of those."""
    return [entries[0]] if isinstance(entries[0], str) else [e[0] for e in entries]


class NumpyGenerator:
    """generator([noise, chords, previous]) -> (B, steps, VOCAB) probabilities, as the Keras model.

    `inputs` (name, shape) and `output.shape` are what `generation.load_generator` checks.
    """

    def __init__(self, path):
        with h5py.File(path, "r") as f:         # OSError for a file that is not HDF5
            try:
                graph = json.loads(f.attrs["model_config"])["config"]
                groups = f["model_weights"]
                layers = {}
                for layer in graph["layers"]:
                    group = groups.get(layer["name"])
                    names = group.attrs.get("weight_names", []) if group is not None else []
                    layers[layer["name"]] = (layer, [np.asarray(group[n], np.float32) for n in names])
            except (KeyError, TypeError, ValueError) as e:
                raise Unsupported(f"no Keras functional model in the file ({e})") from None
        try:
            self._build(graph, layers)
        except Unsupported:
            raise
        except (KeyError, TypeError, IndexError, ValueError) as e:   # a layout this reader does not expect
            raise Unsupported(f"{type(e).__name__}: {e}") from None

    def _build(self, graph, layers):
        self.input_names = _names(graph["input_layers"])
        outputs = _names(graph["output_layers"])
        if len(outputs) != 1:
            raise Unsupported("a model with several outputs")
        self.output_name = outputs[0]
        self.steps = {}           # layer name -> (function of input values, names of its inputs)
        for name, (layer, weights) in layers.items():
            if layer["class_name"] == "InputLayer":
                continue
            if len(layer["inbound_nodes"]) != 1 or layer["inbound_nodes"][0]["kwargs"]:
                raise Unsupported(f"layer {name} called more than once or with keyword arguments")
            args = layer["inbound_nodes"][0]["args"][0]
            sources = [a["config"]["keras_history"][0] for a in (args if isinstance(args, list) else [args])]
            self.steps[name] = (_layer_fn(layer["class_name"], layer["config"], weights), sources)
        self.order = []           # every layer after the layers it reads: the order __call__ runs them in
        placed = set(self.input_names)

        def place(name):
            if name not in placed:
                for source in self.steps[name][1]:
                    place(source)
                placed.add(name)
                self.order.append(name)

        place(self.output_name)
        self.inputs = [Tensor(n, tuple(layers[n][0]["config"]["batch_shape"])) for n in self.input_names]
        dtypes = {n: layers[n][0]["config"]["dtype"] for n in self.input_names}
        self.dtypes = [np.int32 if "int" in str(dtypes[n]) else np.float32 for n in self.input_names]
        probe = self([np.zeros((1, *t.shape[1:]), d) for t, d in zip(self.inputs, self.dtypes)])
        self.output = Tensor(self.output_name, (None, *probe.shape[1:]))

    def __call__(self, inputs):
        # a plain loop: a recursive closure over `values` would be a reference cycle, and every call's
        # activations (400 MB for 1,024 phrases) would wait for the cycle collector (bench.temperature
        # reached 19 GB that way)
        values = {n: np.asarray(x, d) for n, x, d in zip(self.input_names, inputs, self.dtypes)}
        for name in self.order:
            fn, sources = self.steps[name]
            values[name] = fn([values[s] for s in sources])
        return values[self.output_name]


def _sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * x))          # = 1 / (1 + e^-x), without overflow


class NumpyLSTM:
    """The LSTM of `models.lstm` one step at a time in numpy: step(tokens (N,), conditions (N, D), state)
    -> (probabilities (N, VOCAB), state). Built from lstm.h5 (`from_h5`) or a Keras model's weights
    (`from_keras`); `context_steps` is how many tokens before a phrase it was trained to read."""
    recurrent = True

    def __init__(self, weights, context_steps):
        """weights: {layer name: [arrays in Keras' order]} of the layers `models.lstm` names."""
        embed = weights["lstm_embed"][0]                                     # (VOCAB, VOCAB)
        cells, k = [], 1
        while f"lstm_{k}" in weights:
            cells.append([np.asarray(w, np.float32) for w in weights[f"lstm_{k}"]])   # kernel, recurrent, bias
            k += 1
        if not cells or len(weights["tokens"]) != 2:
            raise Unsupported("no lstm_1 layer or no tokens layer")
        kernel, recurrent, bias = cells[0]
        e = embed.shape[1]
        # the first cell's input part of a token is a row of this table: one-hot -> embedding -> kernel
        self.token_table = (embed @ kernel[:e]).astype(np.float32)          # (VOCAB, 4 units)
        self.condition_kernel = kernel[e:]                                  # (D, 4 units)
        self.cells = [(None, recurrent, bias)] + cells[1:]
        self.out_kernel, self.out_bias = (np.asarray(w, np.float32) for w in weights["tokens"])
        self.condition_dim = self.condition_kernel.shape[0]
        self.context_steps = context_steps

    @classmethod
    def from_h5(cls, path, context_steps):
        with h5py.File(path, "r") as f:
            try:
                groups = f["model_weights"]
                weights = {name: [np.asarray(groups[name][w], np.float32) for w in groups[name].attrs["weight_names"]]
                           for name in groups if len(groups[name].attrs.get("weight_names", []))}
            except (KeyError, TypeError, ValueError) as e:
                raise Unsupported(f"no Keras model weights in the file ({e})") from None
        try:
            return cls(weights, context_steps)
        except (KeyError, IndexError, ValueError) as e:
            raise Unsupported(f"{type(e).__name__}: {e}") from None

    @classmethod
    def from_keras(cls, model, context_steps):
        return cls({layer.name: [np.asarray(w) for w in layer.get_weights()] for layer in model.layers
                    if layer.get_weights()}, context_steps)

    def initial_state(self, n):
        units = [r.shape[0] for _, r, _ in self.cells]
        return [(np.zeros((n, u), np.float32), np.zeros((n, u), np.float32)) for u in units]

    def conditions_part(self, conditions):
        """(..., 4 units): what the conditions add to the first cell's gates; computed for a whole song at once."""
        return np.asarray(conditions, np.float32) @ self.condition_kernel

    def step(self, tokens, conditions_part, state):
        """One 16th for N melodies: the token before the step (N,) and `conditions_part` (N, 4 units) of the
        step -> (probabilities of the step's token (N, VOCAB), the new state)."""
        x, new = None, []
        for k, ((kernel, recurrent, bias), (h, c)) in enumerate(zip(self.cells, state)):
            z = (self.token_table[tokens] + conditions_part if k == 0 else x @ kernel) + h @ recurrent + bias
            i, f, g, o = np.split(z, 4, axis=-1)                  # Keras' gate order
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            x = h = _sigmoid(o) * np.tanh(c)
            new.append((h, c))
        logits = x @ self.out_kernel + self.out_bias
        e = np.exp(logits - logits.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True), new
