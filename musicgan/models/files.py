"""A model folder: generator.h5 (a GAN) or lstm.h5 (the LSTM) and config.json, loaded and checked against
each other, and written."""

import logging
from pathlib import Path

from .. import quiet_tensorflow_import
from ..core import constants as C
from ..core.config import load_config, noise_width, save_config
from ..core.errors import ModelError
from ..core.files import atomic_path

FILES = {"gan": "generator.h5", "lstm": "lstm.h5"}          # the file generation reads, by config's model.kind
TRAIN_FLAGS = {"gan": "", "lstm": " --model lstm"}
NAMES = {"gan": "a GAN", "lstm": "an LSTM"}


def load_model(models_dir, kind=None, engine="numpy"):
    """(model, Config, raw config.json dict) of the folder, of the kind its config.json names (model.kind);
    with `kind` ("gan", "lstm") a folder of the other kind is a ModelError saying so. A GAN comes as
    `load_generator` gives it; an LSTM as a `numpy_runtime.NumpyLSTM` (no TensorFlow)."""
    models_dir = Path(models_dir)
    if not (models_dir / "config.json").exists() and kind != "lstm" and not (models_dir / FILES["gan"]).exists():
        raise ModelError(f"no trained model at {models_dir / FILES['gan']}: train one with `python train.py "
                         f"--models {models_dir}` (or pass --models DIR)")
    cfg, raw = load_config(models_dir)
    found = cfg.model.kind
    if kind is not None and found != kind:
        raise ModelError(f"{models_dir} holds {NAMES[found]} (config.json model.kind {found!r}), where {NAMES[kind]} "
                         f"is expected: train one with `python train.py{TRAIN_FLAGS[kind]} --models DIR`")
    if found == "gan":
        return load_generator(models_dir, engine)
    path = models_dir / FILES["lstm"]
    if not path.exists():
        raise ModelError(f"no trained LSTM at {path}: train one with `python train.py --model lstm --models "
                         f"{models_dir}`")
    from .numpy_runtime import NumpyLSTM, Unsupported

    try:
        model = NumpyLSTM.from_h5(path, cfg.representation.context_steps)
    except (OSError, Unsupported) as e:
        raise ModelError(f"cannot load {path} ({str(e).splitlines()[0][:100]}); retrain it with "
                         f"`python train.py --model lstm --models {models_dir} --fresh`") from None
    broken = _non_finite_weights(path)
    if broken or model.condition_dim != C.STEP_CONDITION_DIM:
        raise ModelError(f"{path} " + (f"holds weights that are not numbers (in {broken[0]})" if broken else
                                       f"reads {model.condition_dim} numbers a step, not {C.STEP_CONDITION_DIM}")
                         + f": retrain it with `python train.py --model lstm --models {models_dir} --fresh`")
    return model, cfg, raw


def load_generator(models_dir, engine="numpy"):
    """(generator, Config, raw config.json dict) from models_dir, checked against each other.

    engine "numpy" runs generator.h5 without TensorFlow (`numpy_runtime`) when it holds only layers
    that module knows, else loads Keras, as engine "keras" always does. A folder of an LSTM is a ModelError.
    """
    if engine not in ("numpy", "keras"):
        raise ModelError(f"engine must be numpy or keras, got {engine!r}")
    models_dir = Path(models_dir)
    path = models_dir / "generator.h5"
    if (models_dir / "config.json").exists():
        cfg, raw = load_config(models_dir)
        if cfg.model.kind != "gan":
            load_model(models_dir, "gan")            # raises, saying which kind it is
    if not path.exists():
        raise ModelError(f"no trained model at {path}: train one with `python train.py --models {models_dir}`"
                         " (or pass --models DIR)")
    cfg, raw = load_config(models_dir)
    try:
        generator = _load(path, engine)
    except Exception as e:  # noqa: BLE001 - h5py and Keras raise many kinds on a bad file
        raise ModelError(f"cannot load {path} ({str(e).splitlines()[0][:100]}); retrain it with "
                         f"`python train.py --models {models_dir} --fresh`") from None
    broken = _non_finite_weights(path)
    if broken:
        raise ModelError(f"{path} holds weights that are not numbers (NaN or infinite, in {broken[0]}): it would "
                         f"write silence; retrain it with `python train.py --models {models_dir} --fresh`")
    rep, model = cfg.representation, cfg.model
    expected = {"noise": (noise_width(rep, model),), "chords": (rep.phrase_slots, C.CONDITION_DIM),
                "previous": (rep.context_steps,)}
    found = {i.name: tuple(i.shape[1:]) for i in generator.inputs}
    output = tuple(generator.output.shape[1:])
    if found != expected or output != (rep.phrase_steps, C.VOCAB_SIZE):
        raise ModelError(f"{path} does not match {models_dir / 'config.json'}: the model takes {found} -> "
                         f"{output}, the config says {expected} -> "
                         f"{(rep.phrase_steps, C.VOCAB_SIZE)}; retrain or restore the pair")
    return generator, cfg, raw


def _non_finite_weights(path):
    """Names of the float arrays in an .h5 model file that hold a NaN or an infinity."""
    import h5py
    import numpy as np

    bad = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, item: bad.append(name) if isinstance(item, h5py.Dataset) and item.dtype.kind == "f"
                     and not np.isfinite(item[()]).all() else None)
    return bad


def _load(path, engine):
    if engine == "numpy":
        from .numpy_runtime import NumpyGenerator, Unsupported

        try:
            return NumpyGenerator(path)
        except Unsupported:
            pass
    quiet_tensorflow_import()
    import keras

    return keras.models.load_model(path, compile=False)


def save_models(models, models_dir, cfg, extra):
    """Each (name, Keras model) as NAME.h5, then config.json, each written then renamed into place."""
    import tensorflow as tf

    models_dir = Path(models_dir)
    logging.getLogger("absl").setLevel(logging.ERROR)   # .h5 is our chosen format; Keras calls it legacy
    for name, model in models:
        with atomic_path(models_dir / f"{name}.h5") as tmp:
            model.save(str(tmp))
    save_config(models_dir, cfg, {"tensorflow_version": tf.__version__, **extra})
