"""Starting a run from a public model folder (`--init-from`): check that it was made with this run's
representation and network sizes and that the training folder holds none of its corpus's files (by
content hash), load both networks (and, if asked, both optimizers' state), and freeze the
discriminator layers that are not fine-tuned.

A model folder carries the content hashes of its corpus's files in `corpus_hashes.txt`, exported with
its .h5 files, so that the check works where the public corpus is not (a shipped model). A
private (--dp) run writes none: a list of its files' hashes would tell whoever holds a file whether it
was trained on, the very thing DP hides. A folder without the file (made before it existed) is
checked against the corpus folder its config.json names, when that is here and unchanged.
"""

import hashlib
import json
from pathlib import Path

import numpy as np

from ..core import constants as C
from ..core.config import CONFIG_PARTS, load_config
from ..core.errors import ModelError
from ..core.files import write_text
from ..data.corpus import content_hashes, fingerprint, scan
from ..generate import sampling
from .trainer import TrainingError

HASHES = "corpus_hashes.txt"
D_BLOCKS = ("d_16th_conv", "d_8th_conv", "d_beat_conv", "d_bar_conv")   # D's blocks (models/gan.py), input first
D_HEAD = ("d_features", "logit")
SAME = ("representation", "model")         # what a public model must share with the run it starts
# ...but for how a full score's chords are labelled: that chooses the run's own data's labels, and the
# networks read the same chord features either way
OWN_LABELS = ("representation.score_chords", "representation.score_inference.")
SAMPLING = ("temperature", "meter_temperatures", "chord_weight", "meter_chord_weights")   # config.json's, inherited


def start(gan, cfg, models_dir, resumed, files, source=None, print_fn=print):
    """Freeze D's layers as `train.d_train_blocks` says and, for a run with `train.init_from`, check and
    load the public model. `source`: the training corpus' `fingerprint`. Returns (the `init_from` record
    for config.json or None, the public corpus's hashes). A resumed run takes its weights from its
    checkpoint and its record from the run's config."""
    t = cfg.train
    if t.d_train_blocks is not None:
        trained, total = freeze(gan.discriminator, t.d_train_blocks)
        print_fn(f"the discriminator trains its last {t.d_train_blocks} block(s) and head: {trained} of {total} "
                 "weights; the rest stay as --init-from left them")
    if not t.init_from:
        return None, set()
    if resumed:
        return load_config(Path(models_dir) / "checkpoints")[1].get("init_from"), set()
    folder = Path(t.init_from)
    public, raw = load_config(folder)
    check_compatible(folder, public, cfg)
    hashes, where = public_hashes(folder, raw)
    mine = content_hashes(files)
    shared = sorted(mine[h] for h in set(mine) & hashes)
    if shared:
        what = (f"{len(shared)} file(s) under the training folder are in the corpus of --init-from {folder} "
                f"(same content; e.g. {shared[0]})")
        if cfg.privacy.dp:
            raise TrainingError(f"{what}: the public model has already learned them, which DP cannot hide; "
                                "remove them from the private folder, or start from a model that never saw them")
        if _same_split(source, raw, public, t):
            print_fn(f"continuing --init-from {folder} on its own corpus and held-out split: the songs "
                     "`musicgan evaluate` judges stay unseen")
        else:
            print_fn(f"warning: {what}; `musicgan evaluate` may count them as unseen")
    load_networks(gan, folder)
    if t.init_optimizer:
        load_optimizers(gan, folder)
    record = {"folder": str(folder.resolve()), "epochs_trained": raw.get("epochs_trained"),
              "corpus": raw.get("corpus"), "config_hash": config_hash(public),
              "weights_sha256": _weights_hash(folder), "corpus_hashes": where, "optimizer": t.init_optimizer,
              "temperature": sampling.model_temperature(raw), "chord_weight": sampling.model_chord_weight(raw),
              **{k: raw[k] for k in ("meter_temperatures", "meter_chord_weights") if raw.get(k)}}
    print_fn(f"starting from {folder} (epoch {record['epochs_trained']}, corpus {_corpus_name(raw)}): both networks"
             f"{' and optimizers' if t.init_optimizer else ''}; "
             f"{len(shared) or 'none'} of its corpus's {len(hashes)} distinct files {'are' if shared else 'is'} in "
             "the training folder")
    return record, hashes


def _same_split(source, raw, public, t):
    """Whether this run's corpus (its `fingerprint` `source`) and held-out split are the public model's own,
    so that no song it holds out was trained on before."""
    return (source is not None and source.get("fingerprint") == (raw.get("corpus") or {}).get("fingerprint")
            and (public.train.holdout, public.train.holdout_by) == (t.holdout, t.holdout_by))


def extras(init):
    """What a run started from a public model adds to its config.json: the `init_from` record, and the
    public model's sampling settings as its own, temperatures and chord weights (one chosen on private
    songs would spend privacy that no epsilon counts; `python -m bench.temperature --write` can still
    override them)."""
    if not init:
        return {}
    return {"init_from": init, **{k: init[k] for k in SAMPLING if k in init}}


def check_compatible(folder, public, cfg):
    """ModelError naming each setting of SAME in which the public model's config differs from this run's."""
    theirs, mine = _flat(public.to_dict()), _flat(cfg.to_dict())
    diffs = [f"{k} {theirs.get(k)!r} there, {v!r} here" for k, v in mine.items()
             if k.split(".")[0] in SAME and theirs.get(k) != v and not k.startswith(OWN_LABELS)
             and not (k in GROWABLE and not theirs.get(k))]      # grown: see load_networks
    if diffs:
        raise ModelError(f"--init-from {folder} was made with other settings ({'; '.join(diffs)}): give this run "
                         "the same ones (--config FILE with its \"representation\" and \"model\" sections)")


def _flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def config_hash(cfg):
    """16 hex digits naming a model's settings (representation, model, train, privacy)."""
    text = json.dumps({part: cfg.to_dict()[part] for part in CONFIG_PARTS}, sort_keys=True, default=list)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _weights_hash(folder):
    """16 hex digits of a model's generator.h5 and discriminator.h5: which public weights a run started from."""
    digest = hashlib.sha256()
    for name in ("generator.h5", "discriminator.h5"):
        digest.update((Path(folder) / name).read_bytes())
    return digest.hexdigest()[:16]


def _corpus_name(raw):
    corpus = raw.get("corpus") or {}
    return f"{corpus.get('files', '?')} files under {corpus.get('path', '?')}"


def public_hashes(folder, raw):
    """(the content hashes of the files of the corpus the model in `folder` trained on, where they came
    from): its corpus_hashes.txt, else its recorded corpus folder if that is here with the same files."""
    path = Path(folder) / HASHES
    if path.exists():
        return set(path.read_text().split()), HASHES
    corpus = raw.get("corpus") or {}
    where = corpus.get("path")
    if where and Path(where).is_dir():
        files = scan(where)
        if fingerprint(where, files)["fingerprint"] == corpus.get("fingerprint"):
            return set(content_hashes(files)), f"recomputed from {where}"
        why = f"its corpus folder {where} has other files now than when it trained"
    else:
        why = f"the corpus folder it names ({where}) is not here"
    raise ModelError(f"{folder} has no {HASHES} and {why}, so nothing can show that the training folder holds "
                     f"none of its training songs: put back its corpus, or start from a model that has {HASHES}")


def write_hashes(folder, files, inherited=()):
    """folder/corpus_hashes.txt: the hashes of `files` and of what the run started from, one a line. A run
    writes it beside its checkpoints at its start (so a resumed run has it), and `export_hashes` copies
    it beside each export of the .h5 files."""
    hashes = sorted(set(content_hashes(files)) | set(inherited))
    write_text(Path(folder) / HASHES, "".join(f"{h}\n" for h in hashes))


def export_hashes(models_dir):
    """The run's corpus_hashes.txt beside the .h5 files just exported, or none (a private run's: and an
    earlier run's file would describe another model)."""
    models_dir = Path(models_dir)
    mine, out = models_dir / "checkpoints" / HASHES, models_dir / HASHES
    if mine.exists():
        write_text(out, mine.read_text())
    elif out.exists():
        out.unlink()


def load_networks(gan, folder):
    """Both networks' weights from folder's generator.h5 and discriminator.h5 (float32; the training
    networks may compute in 16 bits on float32 weights)."""
    import keras

    for name, net in (("generator", gan.generator), ("discriminator", gan.discriminator)):
        path = Path(folder) / f"{name}.h5"
        try:
            saved = keras.models.load_model(path, compile=False)
        except Exception as e:  # noqa: BLE001 - h5py and Keras raise many kinds on a bad file
            raise ModelError(f"cannot load {path} ({str(e).splitlines()[0][:100]}): --init-from needs a model "
                             "folder that holds generator.h5 and discriminator.h5") from None
        weights = saved.get_weights()
        rows = _new_rows(gan.cfg.model, saved)
        if rows or {layer.name for layer in net.layers} - {layer.name for layer in saved.layers}:
            weights = _grown(saved, net, rows)
        if [w.shape for w in weights] != [tuple(w.shape) for w in net.weights]:
            raise ModelError(f"{path} does not match its config.json (its weights have other shapes): retrain "
                             "or restore the pair")
        net.set_weights(weights)


# model options a run may add to an --init-from model that lacks them: each adds input channels to some
# convolutions, which start at zero, or a residual block whose last filter does, so the grown networks
# start as the saved ones
GROWABLE = ("model.local_noise", "model.pitch_channel", "model.sounding_pitch", "model.wide_block")


def _new_rows(model, saved):
    """{Conv1D layer: (index of its first new input channel, how many)} for the options `saved` lacks (the wide
    block adds layers, not channels)."""
    names = {layer.name for layer in saved.layers}
    rows = {}
    if model.local_noise and "g_16th_conv" in names and "g_local_noise" not in names:   # after its conditions
        rows.update({b: (model.width + C.CONDITION_DIM, model.local_noise) for b in ("g_16th_conv", "g_16th_b_conv")})
    height = "d_pitch_height" in names
    new = (model.pitch_channel and not height) + (model.sounding_pitch and "d_sounding_pitch" not in names)
    if new and "d_16th_conv" in names:       # after the tokens (and the height, if it was there): see _discriminator
        rows["d_16th_conv"] = (C.VOCAB_SIZE + (model.pitch_channel and height), new)
    return rows


def _grown(saved, net, rows):
    """net's weights from `saved`, layer by layer by name: a kernel in `rows` gets zero rows for its new
    input channels, and layers `saved` lacks (the fixed noise and pitch projections) keep their own."""
    have = {layer.name: {w.name: w.numpy() for w in layer.weights} for layer in saved.layers}
    out = []
    for layer in net.layers:
        for w in layer.weights:
            new, old = w.numpy(), have.get(layer.name, {}).get(w.name)
            if old is not None and layer.name in rows and w.name == "kernel":
                at, n = rows[layer.name]
                old = np.concatenate([old[:, :at], np.zeros((old.shape[0], n, old.shape[2]), old.dtype), old[:, at:]], 1)
            if old is not None and old.shape != new.shape:
                raise ModelError(f"--init-from: {layer.name}/{w.name} has shape {old.shape} there and {new.shape} "
                                 f"here; only {' and '.join(GROWABLE)} may differ")
            out.append(new if old is None else old)
    return out


def load_optimizers(gan, folder):
    """Both Adam optimizers' state (moments, step count) from the newest checkpoint in folder/checkpoints."""
    import tensorflow as tf

    newest = tf.train.latest_checkpoint(str(Path(folder) / "checkpoints"))
    if not newest:
        raise ModelError(f"--init-optimizer: {folder}/checkpoints holds no checkpoint to take the optimizers' "
                         "state from; start without --init-optimizer")
    status = tf.train.Checkpoint(g_opt=gan.g_opt, d_opt=gan.d_opt).restore(newest)
    try:
        status.assert_existing_objects_matched()
    except AssertionError as e:
        raise ModelError(f"--init-optimizer: the optimizers in {newest} are not this run's "
                         f"({str(e).splitlines()[0][:100]}); start without --init-optimizer") from None
    status.expect_partial()


def freeze(discriminator, blocks):
    """Leave trainable only the last `blocks` of D_BLOCKS and D_HEAD (and nothing that enters before
    them, such as the previous-bar summary). Returns (trainable weights, all weights) counts."""
    trained = set(D_BLOCKS[len(D_BLOCKS) - blocks:]) | set(D_HEAD)
    for layer in discriminator.layers:
        if layer.weights and layer.name not in trained:
            layer.trainable = False
    return _count(discriminator.trainable_weights), _count(discriminator.weights)


def _count(weights):
    import numpy as np

    return int(sum(np.prod(w.shape) for w in weights))
