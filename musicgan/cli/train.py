"""`python train.py`: train the GAN on a MIDI folder (flags -> a validated `Config` -> `train.loop.train`)."""

import argparse
import json
import sys
from pathlib import Path

from .. import quiet_tensorflow_import
from ..core.config import (
    CONFIG_PARTS,
    DP_UNITS,
    HOLDOUT_BY,
    LOSSES,
    LR_SCALINGS,
    MODEL_KINDS,
    PRECISIONS,
    SCRAMBLES,
    config_from_dict,
)
from ..core.constants import STRATEGIES, WORKER_TIMEOUT
from ..core.errors import ConfigError
from .common import run

QUICK = {"epochs": 3, "sample_every": 1, "save_every": 1}


def build_train_parser():
    p = argparse.ArgumentParser(
        prog="python train.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train the conditional GAN on every MIDI file under --data and write "
        "generator.h5, discriminator.h5, gan.h5, config.json, training_log.csv, samples/ and "
        "checkpoints/ to --models.",
        epilog="Batch semantics: an iteration is one mini-batch of B phrases (one discriminator "
        "step; a generator step every --d-steps iterations); an epoch is ceil(N/B) iterations "
        "(floor with --drop-remainder), N = phrases after transposition. B is the global batch: with R "
        "replicas (--strategy) each takes B/R phrases of every batch, and the run gives the weights one "
        "replica would with the same B and seed. Larger batches take fewer, less noisy steps and want a "
        "larger learning rate: --lr-scaling linear multiplies the base rates by B/64 (the reference "
        "batch; sqrt: by its square root), ramped up linearly over the warmup epochs. The default, "
        "auto, is linear when several replicas share a B above 64 and none otherwise, so one-replica "
        "runs train as they always did; to compare a distributed run with a one-replica run, give "
        "both the same explicit --lr-scaling. Ctrl-C (or SIGTERM, SIGHUP) stops the run after the iteration "
        "in progress and saves a checkpoint (exit status 130; 143, 129); --resume continues exactly where it "
        "stopped. A kill at any moment loses at most the unfinished iterations of the current epoch.\n\nSeveral machines: run the same command on each, e.g. "
        "--strategy multiworker --workers host1:2222,host2:2222 --task-index 0 (1 on host2), or set "
        "TF_CONFIG instead; see README.md.")
    p.add_argument("--data", default="data/chorales", help="folder of MIDI files, searched recursively "
                   "(default: data/chorales; data/folk once built with `python -m musicgan corpus --source folk`)")
    p.add_argument("--models", default="models/mine", help="output folder for models and logs (default: models/mine; "
                   "the shipped models are in models/chorales, ...)")
    p.add_argument("--cache", help="phrase cache folder (default: DATA/cache)")
    p.add_argument("--config", help="JSON file of overrides, e.g. {\"train\": {\"loss\": \"wgan-gp\"}, "
                   "\"model\": {\"width\": 64}}")
    p.add_argument("--model", choices=MODEL_KINDS, help="gan (default): the conditional GAN; lstm: the "
                   "autoregressive rival, an LSTM reading the previous token, the chord and the metrical position "
                   "each 16th (writes lstm.h5; the same data, split, checkpoints, --resume and logs)")
    p.add_argument("--epochs", type=int, help="passes over the data (default: 40)")
    p.add_argument("--batch-size", type=int, help="phrases per mini-batch B (default: 64)")
    p.add_argument("--seed", type=int, help="seed of shuffling, noise and initial weights (default: 0)")
    p.add_argument("--loss", choices=LOSSES,
                   help="WGAN-GP (default) or non-saturating with label smoothing + feature matching")
    p.add_argument("--d-steps", type=int, help="discriminator steps per generator step (default: 1)")
    p.add_argument("--lr-scaling", choices=LR_SCALINGS,
                   help="scale the learning rates by batch size / reference batch (default: auto, below)")
    p.add_argument("--drop-remainder", action="store_true", help="drop the last partial batch of each epoch")
    p.add_argument("--meter-balance", type=float, metavar="B",
                   help="draw rare meters more often: each epoch's rows are drawn with odds (rows in its meter)^-B, "
                   "0 (default) a plain shuffle, 1 every meter the model writes equally often (0.5 takes the folk "
                   "corpus' 4/2 from 2.4%% of rows to 5%%)")
    p.add_argument("--bar-chords", type=float, metavar="P",
                   help="share of each epoch's phrases trained over their chords one a bar (each bar's "
                   "longest-held chord), as lead sheets and typed progressions give them, instead of the "
                   "corpus' own (as often a chord a beat); 0 (default) to 1")
    p.add_argument("--generator-average", type=float, metavar="D",
                   help="keep a moving average of the generator's weights (decay D a G step, e.g. 0.999: about "
                   "the last 1,000 steps) and sample, watch and export it instead of the last step's weights, "
                   "which swing from step to step in a GAN; 0 (default) off")
    p.add_argument("--mode-seeking", type=float, metavar="W",
                   help="charge the generator W / d, d how far apart its token odds for two noises over the same "
                   "chords are per unit of noise apart (MSGAN's mode-seeking term), so that it uses its noise: "
                   "more varied melodies over the same chords; e.g. 0.1; 0 (default) off")
    p.add_argument("--scrambled-negatives", type=float, metavar="S",
                   help="show the critic real phrases with their notes' pitches shuffled (rhythm kept) as a share S "
                   "of its fakes, so that it learns the order of pitches, the steps (negative data augmentation; "
                   "e.g. 0.25); 0 (default) off")
    p.add_argument("--scramble", choices=SCRAMBLES,
                   help="what --scrambled-negatives changes: order (default) shuffles the notes' pitches; "
                   "chord_tones moves each note to a tone of its chord within a fifth (an arpeggio); leaps moves "
                   "each note to another pitch within a fifth, a chord tone exactly when it was one, so that only "
                   "the steps differ from the real phrase")
    p.add_argument("--epoch-rows", type=int, metavar="N",
                   help="rows an epoch draws (default: every row, a pass over the data); fewer make shorter "
                   "epochs, each ending in its log row and checkpoint (samples and .h5 export as often as the "
                   "config's sample_every and save_every say): an hour's fine-tune of a big corpus. Above the "
                   "corpus' rows only with --meter-balance (drawn with replacement)")
    p.add_argument("--holdout", type=float, help="share of songs kept out of training so that `python -m "
                   "musicgan evaluate` can judge the model on music it never saw (default: 0.15; "
                   "corpora under 20 songs keep every song)")
    p.add_argument("--holdout-by", choices=HOLDOUT_BY,
                   help="keep out whole tune families, so songs sharing a 3-bar passage in any key (one hymn "
                   "tune set twice, a song and its cover) stay on one side (default: tune), or single songs")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="float32, or mixed bfloat16 / float16 (16-bit arithmetic on float32 weights; softmax, "
                   "logit and losses in float32); auto (default): float16 with loss scaling on a GPU, bfloat16 "
                   "on a CPU with native bfloat16 matmul (AVX-512 BF16, AMX), else float32. Saved models are "
                   "float32 either way")
    p.add_argument("--resume", action="store_true", help="continue the run in --models from its newest checkpoint "
                   "that restores (a run with none yet starts from epoch 1)")
    p.add_argument("--fresh", action="store_true", help="delete the run in --models (checkpoints/, best/, samples/, "
                   "logs/, training_log.csv) and start over; the exported .h5 stay until the first export")
    p.add_argument("--quick", action="store_true",
                   help="a short run to see the whole loop work: 3 epochs (about 100 s on 2 cores), "
                   "samples and .h5 every epoch")
    p.add_argument("--jobs", type=int, help="processes reading MIDI (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--checkpoint-minutes", type=float, default=10.0, metavar="M",
                   help="also write a checkpoint every M minutes within an epoch, so that a killed run loses at "
                   "most M minutes (default: 10; 0: at the end of each epoch only)")
    _init_flags(p)
    _privacy_flags(p)
    _distribution_flags(p)
    return p


def _init_flags(p):
    g = p.add_argument_group(
        "fine-tuning a public model", "--init-from starts both networks from a model folder trained on public "
        "music (same representation and sizes), then trains on --data, privately with --dp: the accountant "
        "covers --data only. Refused under --dp if --data holds a file of the public model's corpus "
        "(by content hash). See README, 'Private songs: start from a public model'.")
    g.add_argument("--init-from", metavar="DIR", help="model folder to start from (generator.h5, "
                   "discriminator.h5, config.json)")
    g.add_argument("--init-optimizer", action="store_true", help="also take both optimizers' state from the "
                   "newest checkpoint in DIR/checkpoints")
    g.add_argument("--d-train-blocks", type=int, metavar="K", help="train only the last K of the discriminator's "
                   "4 blocks and its head, the rest frozen from --init-from (0: the head alone, 82k of its "
                   "459k weights): less noise and cheaper per-example gradients under --dp (default: all)")


def _privacy_flags(p):
    dp = p.add_argument_group(
        "differential privacy", "--dp trains the discriminator with DP-SGD: every batch is a Poisson sample "
        "(each privacy unit joins independently with probability q = B/N, so batch sizes vary around B and an "
        "epoch is ceil(N/B) steps), each unit's gradient is clipped to L2 norm C, Gaussian noise N(0, σ²C²) "
        "is added to the sum, divided by B. The generator sees only D and public chord progressions, so "
        "the models are (ε, δ)-DP for the unit; ε is printed each epoch (RDP, PLD, basic composition). "
        "Feature matching reads real data in the generator step, so --dp turns it off; the best-model "
        "pick (models/best) is skipped. See README, 'Training on private music'.")
    dp.add_argument("--dp", action="store_true", help="train the discriminator with DP-SGD")
    dp.add_argument("--dp-noise-multiplier", type=float, metavar="σ",
                    help="noise std over the clip norm (default: 1.0)")
    dp.add_argument("--dp-l2-clip", type=float, metavar="C", help="per-unit gradient L2 clip norm (default: 1.0)")
    dp.add_argument("--dp-delta", type=float, metavar="δ", help="δ of (ε, δ); must be below 1/N (default: 1e-5)")
    dp.add_argument("--dp-target-epsilon", type=float, metavar="ε",
                    help="stop before the epoch that would take ε past this (default: run all epochs)")
    dp.add_argument("--dp-unit", choices=DP_UNITS,
                    help="what one contribution is: a phrase with its 12 transpositions (default), or a whole "
                    "song (all its phrases in or out together; one random phrase of a drawn song per step)")


def _distribution_flags(p):
    g = p.add_argument_group("distributed training (tf.distribute)")
    g.add_argument("--strategy", choices=STRATEGIES, default="auto",
                   help="default: this process on one device; mirrored: the devices of this machine; "
                   "multiworker: several machines; auto (default): multiworker if --workers or TF_CONFIG "
                   "names a cluster, mirrored with several GPUs, else default")
    g.add_argument("--replicas", type=int, help="mirrored: how many GPUs, or without GPUs how many logical "
                   "devices to split the CPU into (default: all GPUs, or 2)")
    g.add_argument("--workers", help="multiworker: every machine's host:port, the same list on each "
                   "(instead of TF_CONFIG)")
    g.add_argument("--task-index", type=int, help="multiworker: this machine's place in --workers (0 is the "
                   "chief, the only one that writes --models)")
    g.add_argument("--worker-timeout", type=float, default=WORKER_TIMEOUT,
                   help="multiworker: seconds to wait for all workers to start before stopping; a worker "
                   f"that dies later is noticed by its missing heartbeats (default: {WORKER_TIMEOUT})")


def train_config(args):
    """Defaults, then --quick, then --config JSON, then explicit flags (later wins)."""
    data = {part: {} for part in CONFIG_PARTS}
    if args.quick:
        data["train"].update(QUICK)
    if args.config:
        try:
            overrides = json.loads(Path(args.config).read_text())
        except ValueError as e:
            raise ConfigError(f"{args.config} is not valid JSON ({e})") from None
        if not isinstance(overrides, dict):
            raise ConfigError(f"{args.config} must hold a JSON object of sections ({{\"train\": {{...}}}}), "
                              f"got {json.dumps(overrides)[:60]}")
        for part, values in overrides.items():
            if part not in data:
                raise ConfigError(f"{args.config}: unknown section {part!r}; known: {', '.join(data)}")
            if not isinstance(values, dict):
                raise ConfigError(f"{args.config}: section {part!r} must be a JSON object of settings, "
                                  f"got {json.dumps(values)[:60]}")
            data[part].update(values)
    flags = {"epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed, "loss": args.loss,
             "d_steps": args.d_steps, "lr_scaling": args.lr_scaling,
             "drop_remainder": args.drop_remainder or None, "holdout": args.holdout,
             "meter_balance": args.meter_balance, "epoch_rows": args.epoch_rows,
             "bar_chords": args.bar_chords, "generator_average": args.generator_average,
             "mode_seeking": args.mode_seeking, "scrambled_negatives": args.scrambled_negatives, "scramble": args.scramble,
             "holdout_by": args.holdout_by, "precision": args.precision, "init_from": args.init_from,
             "init_optimizer": args.init_optimizer or None, "d_train_blocks": args.d_train_blocks}
    data["train"].update({k: v for k, v in flags.items() if v is not None})
    if args.model:
        data["model"]["kind"] = args.model
    private = {"dp": args.dp or None, "noise_multiplier": args.dp_noise_multiplier, "l2_clip": args.dp_l2_clip,
               "delta": args.dp_delta, "target_epsilon": args.dp_target_epsilon, "unit": args.dp_unit}
    data["privacy"].update({k: v for k, v in private.items() if v is not None})
    return config_from_dict(data)


def run_train(args):
    from ..train.distribute import make_strategy
    from ..train.loop import train

    if args.resume and args.fresh:
        raise ConfigError("--resume continues a run and --fresh deletes it: give one of them")
    if not args.checkpoint_minutes >= 0:                                      # NaN fails too
        raise ConfigError(f"--checkpoint-minutes must be a number >= 0, got {args.checkpoint_minutes}")
    cfg = train_config(args)
    strategy = make_strategy(args.strategy, args.workers, args.task_index, args.replicas, args.worker_timeout)
    train(cfg, args.data, args.models, args.cache, resume=args.resume, fresh=args.fresh,
          progress=not args.quiet, jobs=args.jobs, command=" ".join(["python train.py", *sys.argv[1:]]),
          strategy=strategy, checkpoint_minutes=args.checkpoint_minutes)
    print(f"models written to {args.models}/")
    best = Path(args.models) / "best"
    if (best / "config.json").exists():          # it met more of the bar than the last epoch (docs/experiments.md)
        epoch = json.loads((best / "config.json").read_text()).get("epochs_trained")
        print(f"the generator closest to the corpus by the quality watch (epoch {epoch}) is in {best}/: "
              f"python generate.py --models {best} --chords ...")
    return 0


def train_main(argv=None):
    args = build_train_parser().parse_args(argv)
    quiet_tensorflow_import()
    return run(run_train, args)


