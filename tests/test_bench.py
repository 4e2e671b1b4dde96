"""The benchmark entry point starts, and its FLOP counter counts what the docstring says (no timings)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from bench.flops import forward_flops, iteration_flops
from musicgan.core.config import TrainConfig

ROOT = Path(__file__).resolve().parent.parent


def test_bench_help_names_every_section():
    out = subprocess.run([sys.executable, "-m", "bench", "--help"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert "--quick" in out and all(name in out for name in ("train", "prepare", "generate", "scaling"))


def test_flops_from_layer_shapes():
    tokens = keras.Input((8,), dtype="int32")
    x = keras.layers.Embedding(10, 2)(tokens)                             # (8, 2): a lookup, 0
    x = keras.layers.Conv1D(5, 3, padding="same")(x)                      # 2 * 8 steps * 3 * 2 * 5 = 480
    x = keras.layers.Conv1D(4, 2, strides=2)(x)                           # 2 * 4 steps * 2 * 5 * 4 = 320
    x = keras.layers.LeakyReLU()(x)
    x = keras.layers.Dense(3)(x)                                          # 2 * 4 steps * 4 * 3 = 96
    y = keras.layers.Dense(1)(keras.layers.Flatten()(x))                  # 2 * 12 * 1 = 24
    assert forward_flops(keras.Model(tokens, y)) == 480 + 320 + 96 + 24


@pytest.mark.parametrize("loss, feature_matching, d_steps, g_units, d_units",
                         [("wgan-gp", 1.0, 1, 4, 14), ("nonsaturating", 0.0, 2, 1 + 3 / 2, 6 + 2 / 2)])
def test_iteration_flops_in_network_passes(loss, feature_matching, d_steps, g_units, d_units):
    g_in = keras.Input((3,))
    generator = keras.Model(g_in, keras.layers.Dense(5)(g_in))           # 30 FLOPs
    d_in = keras.Input((5,))
    discriminator = keras.Model(d_in, keras.layers.Dense(1)(d_in))       # 10 FLOPs
    cfg = TrainConfig(loss=loss, feature_matching=feature_matching, d_steps=d_steps)
    assert iteration_flops(cfg, generator, discriminator)["iteration"] == g_units * 30 + d_units * 10


def test_the_temperature_sweep_scores_with_the_classifier_only_when_asked(tiny_models, tmp_path, monkeypatch):
    from bench import temperature
    from musicgan.evaluate import classifier, metrics
    from musicgan.evaluate.report import COMPARED

    monkeypatch.setattr(classifier, "UPDATES", 10)      # its power is tests/test_metrics.py's
    data = tiny_models.parent / "midi"
    plain = temperature.sweep(tiny_models, data, windows=16, temperatures=(1.0, 0.5), print_fn=str)
    judged = temperature.sweep(tiny_models, data, windows=16, temperatures=(1.0, 0.5), classifier=True, print_fn=str)
    for t in (1.0, 0.5):
        key = temperature.setting((t, 0.0))
        rows = judged["per_meter"][key]
        assert "classifier_accuracy" in rows["4/4"] and "classifier_accuracy" not in rows["3/4"]  # 1 waltz: no test
        for meter, row in rows.items():
            before = plain["per_meter"][key][meter]
            assert "classifier_accuracy" not in before
            if meter == "3/4":
                assert row["distance"] == before["distance"]
                continue
            term = metrics.metric_distance("classifier_accuracy", row["classifier_accuracy"], {})
            # the same melodies: only the classifier's term is added, one of evaluate's len(COMPARED)
            assert row["distance"] * len(COMPARED) == pytest.approx(before["distance"] * (len(COMPARED) - 1) + term)
    models = tmp_path / "m"
    shutil.copytree(tiny_models, models, ignore=shutil.ignore_patterns("checkpoints", "logs", "samples", "best"))
    temperature.main(["--models", str(models), "--data", str(data), "--windows", "16", "--write",
                      "--chord-weights", "0,2", "--out", str(tmp_path / "t.json")])
    raw = json.loads((models / "config.json").read_text())
    report = json.loads((tmp_path / "t.json").read_text())
    assert raw["temperature"] == report["best"] and raw["meter_temperatures"] == report["best_per_meter"]
    assert raw["chord_weight"] == report["best_chord_weight"]
    assert raw["meter_chord_weights"] == report["chord_weight_per_meter"]
    assert len(report["per_meter"]) == len(temperature.TEMPERATURES) * 2
    tones = {key: rows["4/4"]["chord_tone_ratio"] for key, rows in report["per_meter"].items()}
    assert all(tones[temperature.setting((t, 2.0))] > tones[temperature.setting((t, 0.0))]
               for t in temperature.TEMPERATURES)            # the weight pulls the notes onto the chords
    kept = dict(raw, meter_temperatures={"4/4": 0.3, "3/4": 0.6})
    (models / "config.json").write_text(json.dumps(kept))
    temperature.main(["--models", str(models), "--data", str(data), "--windows", "16", "--write", "--own-temperatures",
                      "--chord-weights", "0,2", "--out", str(tmp_path / "own.json")])
    raw = json.loads((models / "config.json").read_text())
    own = json.loads((tmp_path / "own.json").read_text())
    assert set(own["per_meter"]) == {"T=own w=0.0", "T=own w=2.0"}
    assert raw["meter_temperatures"] == kept["meter_temperatures"] and raw["temperature"] == kept["temperature"]
    assert raw["meter_chord_weights"] == own["chord_weight_per_meter"]
    at_own = own["per_meter"]["T=own w=0.0"]["4/4"]                 # the same draws as the full sweep's T 0.3
    assert at_own["distance"] == report["per_meter"]["T=0.3 w=0.0"]["4/4"]["distance"]
    temperature.main(["--models", str(models), "--data", str(data), "--windows", "16", "--temperatures", "0.3,0",
                      "--out", str(tmp_path / "low.json")])
    low = json.loads((tmp_path / "low.json").read_text())["per_meter"]
    assert set(low) == {"T=0.3 w=0.0", "T=0.0 w=0.0"}       # 0: the likeliest tokens
    assert low["T=0.3 w=0.0"]["4/4"]["distance"] == report["per_meter"]["T=0.3 w=0.0"]["4/4"]["distance"]


def test_the_temperature_sweep_prefers_a_temperature_that_meets_the_bar_to_a_closer_one():
    from bench.temperature import choose

    def row(distance, missed=0):
        return {"distance": distance, "missed": ["chord-tone ratio >= corpus - 0.05"] * missed}

    table = {1.0: {"2/4": row(0.028, missed=1), "4/2": row(0.10, missed=1)},     # closest, misses two checks
             0.5: {"2/4": row(0.034), "4/2": row(0.15, missed=1)},
             0.2: {"2/4": row(0.036), "4/2": row(0.13, missed=1)}}
    pooled, best, by_meter = choose(table, {"2/4": 3, "4/2": 1})
    assert pooled[1.0] == pytest.approx((3 * 0.028 + 0.10) / 4) and min(pooled, key=pooled.get) == 1.0
    assert by_meter == {"2/4": 0.5, "4/2": 1.0}          # 4/2 misses one everywhere: the closest of them
    assert best == 0.2                                   # of the two missing one, the closer pooled


def test_the_critic_order_bench_scrambles_only_the_order_of_pitches(tiny_models):
    import numpy as np

    from bench.critic_order import critic_order, mean_step, shuffle_pitches

    melody = np.array([[0, 10, 1, 12, 1, 1, 14, 0, 16], [1, 1, 0, 0, 0, 0, 0, 0, 20]], np.uint8)
    shuffled = shuffle_pitches(melody, np.random.default_rng(0))
    assert (np.where(melody >= 2, 2, melody) == np.where(shuffled >= 2, 2, shuffled)).all()   # the rhythm kept
    assert sorted(shuffled[0][shuffled[0] >= 2]) == [10, 12, 14, 16] and shuffled[1, -1] == 20
    assert mean_step(melody) == 2.0 and mean_step(melody[:, ::-1]) == 2.0       # falling uint8 steps: no wrap-around
    report = critic_order(tiny_models, tiny_models.parent / "midi", windows=8)
    assert set(report) == {"4/4", "3/4"}
    for r in report.values():
        assert r["order"] == r["score"]["real"] - r["score"]["shuffled"] and np.isfinite(r["fake"])
        assert 0 < r["windows"] <= 8 and r["steps"]["shuffled"] >= 0
