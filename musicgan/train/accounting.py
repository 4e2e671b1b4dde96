"""The privacy accountant of DP-SGD (dp-accounting: RDP and PLD, with basic composition for comparison)
and the plan of a private epoch."""

import logging
import math

import numpy as np

from .trainer import TrainingError

LOG_FIELDS = ("dp_clipped", "epsilon_rdp", "epsilon_pld", "epsilon_basic")


def plan(cfg, unit_id):
    """What a private epoch is: units N, sampling rate q = B/N, steps per epoch ceil(N/B), δ."""
    p, b = cfg.privacy, cfg.train.batch_size
    n = len(np.unique(unit_id))
    if b > n:
        raise TrainingError(f"--dp: the expected batch size {b} is larger than the {n} {p.unit}s; pass a smaller "
                         "--batch-size")
    if p.delta >= 1 / n:
        raise TrainingError(f"--dp-delta {p.delta:g} is not below 1/N = {1 / n:.3g} ({n} {p.unit}s): with it one "
                         "unit could leak whole; pass a smaller --dp-delta")
    out = {"unit": p.unit, "units": n, "q": b / n, "iterations_per_epoch": -(-n // b),
           "noise_multiplier": p.noise_multiplier, "l2_clip": p.l2_clip, "delta": p.delta}
    if p.target_epsilon is not None:        # the σ that would spend the target over every planned epoch, by
        try:                                # RDP: 10x faster to search than PLD and above it, so safe by both
            out["noise_for_target"] = noise_for(p.target_epsilon, b / n, out["iterations_per_epoch"] * cfg.train.epochs,
                                                p.delta, "rdp")
        except TrainingError:
            pass
    return out


def epsilon(noise_multiplier, q, steps, delta, accountant="rdp"):
    """ε for δ after `steps` Poisson-sampled Gaussian steps: "rdp" (moments accountant), "pld"
    (privacy loss distributions, tighter) or "basic" (T · ε₁ at δ/T each: loose, for comparison)."""
    import dp_accounting
    from dp_accounting import pld, rdp

    if steps == 0:
        return 0.0
    logging.getLogger("absl").setLevel(logging.ERROR)       # RDP warns for each order it skips
    step = dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(noise_multiplier))
    if accountant == "basic":
        one = pld.PLDAccountant()
        one.compose(step)
        return steps * one.get_epsilon(delta / steps)
    acc = rdp.RdpAccountant() if accountant == "rdp" else pld.PLDAccountant()
    acc.compose(dp_accounting.SelfComposedDpEvent(step, steps))
    return float(acc.get_epsilon(delta))


def noise_for(target, q, steps, delta, accountant="pld"):
    """The smallest noise multiplier σ (to 3 digits) whose ε after `steps` is at most `target`:
    what to pass as --dp-noise-multiplier to spend ε = target over a planned run."""
    lo, hi = 0.3, 64.0
    if epsilon(hi, q, steps, delta, accountant) > target:
        raise TrainingError(f"ε = {target:g} needs σ above {hi:g} for {steps} steps at q = {q:.3g}: take fewer "
                            "steps (epochs) or a smaller batch")
    while hi - lo > 1e-3 * hi:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if epsilon(mid, q, steps, delta, accountant) <= target else (mid, hi)
    return math.ceil(hi * 1000) / 1000             # up: rounded down it could spend more than the target


def epsilons(pl, steps):
    """The three ε figures of the log, rounded."""
    return {f"epsilon_{a}": round(epsilon(pl["noise_multiplier"], pl["q"], steps, pl["delta"], a), 4)
            for a in ("rdp", "pld", "basic")}


def over_budget(pl, steps, target):
    """True when `steps` would spend more than ε = target by the tighter of RDP and PLD (both are upper bounds)."""
    return target is not None and min(epsilon(pl["noise_multiplier"], pl["q"], steps, pl["delta"], a)
                                       for a in ("rdp", "pld")) > target


def format_plan(pl):
    return (f"differential privacy: unit {pl['unit']} ({pl['units']}), Poisson sampling q = B/N = {pl['q']:.4g}, "
            f"{pl['iterations_per_epoch']} steps/epoch = ceil(N/B), noise σ = {pl['noise_multiplier']:g}, "
            f"clip C = {pl['l2_clip']:g}, δ = {pl['delta']:g}"
            + (f"\n(--dp-noise-multiplier {pl['noise_for_target']:g} would spend ε = the target over all the epochs)"
               if "noise_for_target" in pl else ""))
