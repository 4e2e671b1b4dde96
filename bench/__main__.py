"""python -m bench [--quick]: speed, share of the machine and scaling in one run; one table, bench/results.json.

Every measurement runs in a fresh child process (its own TensorFlow, its peak memory its own):
  train      bench.train_step: the compiled step vs eager vs the float32 matmul peak measured in
             the same process, where the step's time goes, real tf.data vs a constant batch; the
             step at float32 before this branch, float32 and mixed bfloat16, each against its own
             precision's matmul peak (full run: again with oneDNN off)
  prepare    bench/prepare_speed.py: 4 copies of the corpus, MIDI files/s cold with 1 job and all
             cores and cached, against a bare one-core pretty_midi parse and a symusic parse
  generate   bench.generate_speed: generate.py for 16, 128 and 1024 bars, start-up vs generation,
             peak memory; with the numpy generator and, as before it, with Keras
  scaling    bench.scaling: epoch time and peak memory at 1x, 2x and 4x the corpus
The machine is shared: ratios within one run are the figures to compare; see bench/RESULTS.md.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("train", "prepare", "generate", "scaling")
SETTINGS = {   # quick keeps the whole run under two minutes on 2 cores
    "quick": {"train": ["--steps", "4", "--rounds", "3", "--eager-steps", "2"], "prepare_repeat": "1",
              "bars": {"numpy": (16, 128, 1024), "keras": (16, 1024)}, "scaling_iterations": "10"},
    "full": {"train": ["--steps", "8", "--rounds", "6", "--eager-steps", "3"], "prepare_repeat": "3",
             "bars": {"numpy": (16, 128, 1024), "keras": (16, 128, 1024)}, "scaling_iterations": "20"}}


def child(args, env=None, parse=True):
    """(last stdout line as JSON, wall seconds, peak RSS in MB) of `python ARGS` run from the repository."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)          # the child's own rusage, not all children's
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{stderr[-2000:]}")
    return json.loads(stdout.strip().splitlines()[-1]) if parse else None, wall, usage.ru_maxrss / 1024


def run_train(s, full):
    runs = {"onednn default": child(["-m", "bench.train_step", *s["train"]])[0]}
    if full:
        runs["onednn off"] = child(["-m", "bench.train_step", *s["train"]], {"TF_ENABLE_ONEDNN_OPTS": "0"})[0]
    return runs


def run_prepare(s, full):
    with tempfile.TemporaryDirectory() as tmp:
        child(["bench/prepare_speed.py", "--repeat", s["prepare_repeat"], "--copies", "4", "--out", f"{tmp}/p.json"],
              parse=False)
        return json.loads(Path(f"{tmp}/p.json").read_text())


def run_generate(s, full):
    rows = []
    for engine, lengths in s["bars"].items():
        for bars in lengths:
            parts, wall, rss = child(["-m", "bench.generate_speed", "--bars", str(bars), "--engine", engine])
            parts.update(wall=wall, peak_rss_mb=rss, start_up=wall - parts["generate"])
            rows.append(parts)
    return rows


def run_scaling(s, full):
    rows = []
    for factor in (1, 2, 4):
        row, wall, rss = child(["-m", "bench.scaling", "--factor", str(factor), "--iterations", s["scaling_iterations"]])
        rows.append({**row, "peak_rss_mb": rss, "wall": wall})
    return rows


def machine():
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    try:
        tf_version = subprocess.run([sys.executable, "-c", "import tensorflow as tf; print(tf.__version__)"],
                                    capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                                    check=False).stdout.strip()
    except OSError:
        tf_version = "?"
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(), "tensorflow": tf_version,
            "commit": commit}


def table(r):
    """The one table: (section, measure, value, note) rows."""
    rows = []
    add = rows.append
    if "train" in r:
        for name, t in r["train"].items():
            pps, sec, f = t["phrases_per_second"], t["seconds_per_iteration"], t["flops_per_phrase"]
            sec_name = f"training step, {name}"
            add((sec_name, "compiled, phrases/s (fastest / median iteration)",
                 f"{pps['compiled']:.0f} / {t['batch_size'] / sec['compiled']['median']:.0f}",
                 f"batch {t['batch_size']}, {t['loss']}, {f['iteration'] / 1e6:.0f} MFLOP/phrase"))
            add((sec_name, "eager, phrases/s", f"{pps['eager']:.0f}",
                 (f"compiled {t['compiled_over_eager']['wall']:.1f}x faster, "
                  f"{t['compiled_over_eager']['cpu']:.1f}x less CPU")))
            add((sec_name, "float32 matmul peak, GFLOP/s (wall / per CPU-s)",
                 f"{t['matmul_peak_gflops']['wall']:.0f} / {t['matmul_peak_gflops']['per_cpu_second']:.0f}",
                 f"chained 1024^3 products, {t['cores_busy']['peak']:.1f} cores busy"))
            add((sec_name, "bfloat16 matmul, GFLOP/s (wall / per CPU-s)",
                 f"{t['bfloat16_matmul_gflops']['wall']:.0f} / {t['bfloat16_matmul_gflops']['per_cpu_second']:.0f}",
                 "for reference: what a bfloat16 model could reach"))
            add((sec_name, "step, GFLOP/s (wall / per CPU-s)",
                 f"{t['step_gflops']['wall']:.0f} / {t['step_gflops']['per_cpu_second']:.0f}",
                 (f"{100 * t['share_of_peak']['wall']:.0f}% / {100 * t['share_of_peak']['cpu']:.0f}% of peak, "
                  f"{t['cores_busy']['compiled']:.1f} cores busy")))
            for prec, label in (("float32_before", "float32, before (Keras LeakyReLU)"), ("float32", "float32"),
                                ("bfloat16", "mixed bfloat16")):
                p = t[prec]
                peak = "bfloat16" if prec == "bfloat16" else "float32"
                add((sec_name, f"step at {label}, phrases/s (fastest / median)",
                     f"{p['phrases_per_second']:.0f} / {p['phrases_per_second_median']:.0f}",
                     (f"{p['over_float32_before']['wall']:.2f}x / {p['over_float32_before']['median']:.2f}x before "
                      f"({p['over_float32_before']['cpu']:.2f}x less CPU); {100 * p['share_of_peak']['cpu']:.0f}% of "
                      f"the {peak} matmul peak per CPU-s")))
            add((sec_name, "retrace of both steps for a short last batch, s", f"{t['retrace_seconds']:.2f}",
                 "once a run before the last batch was padded"))
            it = sec["compiled"]["cpu"] * 1000
            for part, ms in t["parts_ms"].items():
                add((sec_name, f"  {part}, CPU ms", f"{ms['cpu']:.1f}",
                     f"{100 * ms['cpu'] / it:.0f}% of the iteration's {it:.0f} CPU ms (fastest wall {ms['wall']:.1f} ms)"))
            add((sec_name, "float() of the 4 metrics after a step, ms", f"{t['float_metrics_ms']['median']:.3f}",
                 f"max {t['float_metrics_ms']['max']:.3f}: the step call returns when done, nothing is left to wait for"))
            add(("input pipeline", f"real tf.data / constant batch, step time ({name})",
                 f"{t['real_data_over_constant']['best']:.2f}",
                 (f"median {t['real_data_over_constant']['median']:.2f}; a batch alone "
                  f"{1000 * sec['input_only']['median']:.2f} ms")))
    if "prepare" in r:
        p = r["prepare"]
        for name, run in p["runs"].items():
            ratio = p["cold_over_pretty_midi_parse"].get(name)
            add(("input pipeline", f"{'' if 'parse' in name else 'prepare '}{name}, files/s",
                 f"{run['files_per_second']:.0f}",
                 f"{p['files_found']} files, {run['seconds']:.2f} s"
                 + (f"; {ratio:.2f} of the pretty_midi parse" if ratio else "")))
        for method, seconds in p.get("worker_start_seconds", {}).items():
            add(("input pipeline", f"{p['cores']} workers {method}ed: start-up, s", f"{seconds:.3f}",
                 f"= {p['break_even_files_per_worker'][method]} files read in process"))
    if "generate" in r:
        for g in r["generate"]:
            add((f"generate.py, {g['engine']}", f"{g['bars']} bars: start-up + generation = wall, s",
                 f"{g['start_up']:.2f} + {g['generate']:.2f} = {g['wall']:.2f}",
                 (f"imports {g['imports']:.2f}, load {g['load_model']:.2f}, MIDI write {g['write_midi']:.2f}; "
                  f"peak {g['peak_rss_mb']:.0f} MB")))
    if "scaling" in r:
        base = r["scaling"][0]
        for s in r["scaling"]:
            add(("scaling", f"{s['factor']}x corpus ({s['phrases']} phrases): epoch s, CPU s, peak MB",
                 f"{s['epoch_seconds']['best']:.0f}, {s['epoch_seconds']['cpu']:.0f}, {s['peak_rss_mb']:.0f}",
                 (f"of 1x: epoch {s['epoch_seconds']['best'] / base['epoch_seconds']['best']:.2f}x wall, "
                  f"{s['epoch_seconds']['cpu'] / base['epoch_seconds']['cpu']:.2f}x CPU; iteration "
                  f"{s['iteration_seconds']['cpu'] / base['iteration_seconds']['cpu']:.2f}x CPU; memory "
                  f"{s['peak_rss_mb'] / base['peak_rss_mb']:.2f}x")))
    return rows


def format_table(rows):
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines, last = [], None
    for section, measure, value, note in rows:
        lines.append(f"{section if section != last else '':<{widths[0]}}  {measure:<{widths[1]}}  "
                     f"{value:>{widths[2]}}  {note}")
        last = section
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions: under two minutes")
    ap.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="run these sections")
    ap.add_argument("--out", default=str(Path(__file__).with_name("results.json")), help="JSON results file")
    args = ap.parse_args(argv)
    mode = "quick" if args.quick else "full"
    s = SETTINGS[mode]
    t0 = time.perf_counter()
    results = {"mode": mode, "machine": machine(), "load_average_start": os.getloadavg()}
    results["section_seconds"] = {}
    for name in args.only:
        print(f"running {name} ...", end=" ", file=sys.stderr, flush=True)
        t = time.perf_counter()
        results[name] = globals()[f"run_{name}"](s, mode == "full")
        results["section_seconds"][name] = round(time.perf_counter() - t, 1)
        print(f"{results['section_seconds'][name]:.0f} s", file=sys.stderr, flush=True)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    results.update(load_average_end=os.getloadavg(), seconds=time.perf_counter() - t0,
                   cpu_seconds_of_children=children.ru_utime + children.ru_stime)
    m = results["machine"]
    load = f"{results['load_average_start'][0]:.1f} -> {results['load_average_end'][0]:.1f}"
    print(f"musicgan bench ({mode}, {results['seconds']:.0f} s, {results['cpu_seconds_of_children']:.0f} CPU s): "
          f"{m['cpu']}, {m['cores']} cores, "
          f"TensorFlow {m['tensorflow']}, commit {m['commit']}, 1-min load average {load}")
    print(format_table(table(results)))
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
