"""Public pretraining, then private fine-tuning (issue 18): each row of docs/experiments.md' table is one
command of this script, which prints and runs the real `train.py` and `musicgan evaluate` commands.

python -m bench.dp_finetune --public models/folk --out runs/dpft ROW [ROW ...]
ROW: public (the public model alone, judged on the held-out chorales), eps1 / eps3 / eps8 (DP
fine-tuning at ε = 1, 3, 8, unit phrase: all of D trained, B = 256, 10 epochs), eps8-song (unit song), plain (non-private fine-tuning),
noise (the DP fine-tuning with σ = 1000, ε ≈ 0: what the steps do without the private
signal, the control), or ROW:blocks=K,batch=B,epochs=E,lr=X,glr=Y to vary one (glr: G's rate, default lr;
models/chorales-dp is eps8:epochs=20). σ is computed so that the planned steps end at ε
(PLD, δ = 1e-5); --dp-target-epsilon guards it. A row whose evaluation.json exists is not re-run
(delete its folder to redo it). Ends with the table of every row done so far under --out.
"""

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

DATA = "data/chorales"
DELTA = 1e-5
DP = {"blocks": None, "batch": 256, "epochs": 10, "lr": 5e-5, "unit": "phrase"}
ROWS = {"eps1": {"epsilon": 1.0}, "eps3": {"epsilon": 3.0}, "eps8": {"epsilon": 8.0},
        "eps8-song": {"epsilon": 8.0, "unit": "song", "batch": 64},
        "plain": {"epsilon": None, "batch": 64, "epochs": 2},
        "noise": {"epsilon": None, "sigma": 1000.0}}     # the DP run with the private signal drowned: the control
SHOWN = ("chord_tone_ratio", "notes_per_bar", "pitch_class_entropy", "mean_abs_interval", "diversity",
         "copy_rate", "classifier_accuracy", "distance")


def units(unit):
    """N: the privacy units of the chorales' training split (the held-out songs set aside as training does)."""
    from musicgan.core.config import Config
    from musicgan.data.corpus import prepare

    t = Config().train
    corpus = prepare(DATA, progress=False)
    corpus = corpus.subset(~corpus.held_out(t.holdout, t.holdout_by))
    return len(set(corpus.rows(True, unit).unit_id.tolist()))


def settings(name):
    base, _, extra = name.partition(":")
    s = {**DP, **ROWS[base]}
    for part in filter(None, extra.split(",")):
        k, v = part.split("=")
        s[k] = None if v == "all" else float(v) if k in ("lr", "glr") else int(v)
    return s


def commands(name, public, out, windows=2048):
    py = sys.executable
    folder = out / name.replace(":", "_").replace(",", "_").replace("=", "")
    evaluate = [py, "-m", "musicgan", "evaluate", "--models", str(folder), "--data", DATA, "--windows", str(windows)]
    if name == "public":
        return folder, [[*evaluate[:4], "--models", str(public), *evaluate[6:], "--out",
                         str(folder / "evaluation.json")]], {}
    from musicgan.train import accounting

    s = settings(name)
    folder.mkdir(parents=True, exist_ok=True)
    from musicgan.core.config import load_config

    started = load_config(public)[0].to_dict()              # a fine-tune keeps the public model's representation
    (folder.parent / f"{folder.name}.json").write_text(json.dumps(
        {"representation": started["representation"], "model": started["model"],
         "train": {"g_lr": s.get("glr") or s["lr"], "d_lr": s["lr"], "save_every": 1000, "sample_every": 1000}}))
    train = [py, "train.py", "--init-from", str(public), "--data", DATA, "--models", str(folder), "--fresh",
             "--quiet", "--batch-size", str(s["batch"]), "--epochs", str(s["epochs"]),
             "--config", str(folder.parent / f"{folder.name}.json")]
    if s["blocks"] is not None:
        train += ["--d-train-blocks", str(s["blocks"])]
    if s["epsilon"] is not None or "sigma" in s:
        n = units(s["unit"])
        steps = -(-n // s["batch"]) * s["epochs"]
        sigma = s.get("sigma") or accounting.noise_for(s["epsilon"], s["batch"] / n, steps, DELTA)
        s.update(units=n, steps=steps, sigma=sigma)
        train += ["--dp", "--dp-unit", s["unit"], "--dp-delta", str(DELTA), "--dp-noise-multiplier", str(sigma)]
        if s["epsilon"] is not None:
            train += ["--dp-target-epsilon", str(s["epsilon"])]
    return folder, [train, evaluate], s


def table(out):
    print("| row | ε (PLD) | windows | " + " | ".join(SHOWN) + " | bar |")
    print("|---" * (len(SHOWN) + 4) + "|")
    real = None
    for report in sorted(out.glob("*/evaluation.json")):
        r = json.loads(report.read_text())
        real = real or r["rows"]["real (held out)"]
        cfg = json.loads((report.parent / "config.json").read_text()) if (report.parent / "config.json").exists() \
            else {}
        eps = cfg.get("batch", {}).get("privacy", {}).get("epsilon_pld", "∞" if cfg else "")
        bar = f"{sum(c['ok'] for c in r['bar'])}/{len(r['bar'])}"
        print(f"| {report.parent.name} | {eps} | {r['windows']} | " + " | ".join(f"{r['rows']['model'][k]:.3f}" for k in SHOWN)
              + f" | {bar} |")
    if real:
        print("| real (held out) | | | " + " | ".join(f"{real[k]:.3f}" for k in SHOWN) + " | |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--public", required=True, help="the public model folder")
    ap.add_argument("--out", required=True, help="folder of the rows' model folders")
    ap.add_argument("--windows", type=int, default=2048, help="chord windows evaluate judges (default: its 2048)")
    ap.add_argument("rows", nargs="*", help=f"public, {', '.join(ROWS)} (default: none, just the table)")
    args = ap.parse_args()
    out = Path(args.out)
    for name in args.rows:
        folder, cmds, s = commands(name, Path(args.public), out, args.windows)
        if (folder / "evaluation.json").exists():
            print(f"{name}: done already ({folder}/evaluation.json)")
            continue
        if s:
            print(f"{name}: {json.dumps(s)}", flush=True)
        folder.mkdir(parents=True, exist_ok=True)
        for cmd in cmds:
            print("$ " + shlex.join(cmd), flush=True)
            with open(folder / "run.log", "a") as log:
                log.write("$ " + shlex.join(cmd) + "\n")
                log.flush()
                subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT)
    table(out)


if __name__ == "__main__":
    main()
