"""The meter: every count that depends on the time signature, on the 16th-note grid.

Compound meters (a numerator divisible by 3, above 3: 6/8, 9/8, 12/8, 6/4) beat in dotted notes,
as pretty_midi's `get_beats` counts them; 2/2 beats in halves, 3/8 in eighths.
"""

from dataclasses import dataclass

import numpy as np

from .errors import ConfigError

STEPS_PER_QUARTER = 4          # the grid is 16th notes
SLOT_STEPS = 2                 # chords and metrical features come per 8th-note slot: every meter's
                               # beats and bars (x/2, x/4, x/8) start on a slot
MAX_STEPS_PER_BAR = 64         # a bar longer than this (e.g. 17/4) does not fit the representation


def meter_problem(numerator, denominator):
    """Why the time signature numerator/denominator cannot be written on the grid, or None."""
    if numerator < 1 or denominator not in (1, 2, 4, 8):
        return "not a time signature the grid holds (a numerator >= 1 over 1, 2, 4 or 8)"
    steps = numerator * STEPS_PER_QUARTER * 4 / denominator
    if steps > MAX_STEPS_PER_BAR:
        return f"a bar of {steps:g} 16ths is longer than the {MAX_STEPS_PER_BAR} the representation holds"
    return None


@dataclass(frozen=True)
class Meter:
    numerator: int = 4
    denominator: int = 4

    def __post_init__(self):
        problem = meter_problem(self.numerator, self.denominator)
        if problem:
            raise ConfigError(f"meter {self}: {problem}")

    @classmethod
    def parse(cls, text):
        """'3/4' -> Meter(3, 4); ConfigError naming the text otherwise."""
        num, slash, den = str(text).strip().partition("/")
        if not (slash and num.isdigit() and den.isdigit()):
            raise ConfigError(f"bad meter {text!r}: write it as a time signature, e.g. 4/4, 3/4, 6/8")
        return cls(int(num), int(den))

    def __str__(self):
        return f"{self.numerator}/{self.denominator}"

    @property
    def compound(self):
        return self.numerator % 3 == 0 and self.numerator > 3

    @property
    def steps_per_bar(self):
        return self.numerator * STEPS_PER_QUARTER * 4 // self.denominator

    @property
    def beats_per_bar(self):
        return self.numerator // 3 if self.compound else self.numerator

    @property
    def steps_per_beat(self):
        return self.steps_per_bar // self.beats_per_bar

    def steps(self, bars):
        """Grid steps in `bars` bars."""
        return bars * self.steps_per_bar

    @property
    def strong_beats(self):
        """Beats (0-based, within a bar) that carry metrical weight: the downbeat, and the middle of
        a bar of four beats (4/4's beats 1 and 3, 12/8's first and third dotted quarter)."""
        return (0, 2) if self.beats_per_bar == 4 else (0,)

    def strong_steps(self, steps):
        """(steps,) bool: the grid steps (from a bar line) that lie within a strong beat."""
        return np.isin(np.arange(steps) % self.steps_per_bar // self.steps_per_beat, self.strong_beats)

    def step_levels(self, steps):
        """(steps,) int, each grid step's (from a bar line) metrical level: 0 the downbeat, 1 another strong
        beat, 2 another beat, 3 an 8th between beats, 4 a 16th between 8ths."""
        step = np.arange(steps) % self.steps_per_bar
        beat, offset = np.divmod(step, self.steps_per_beat)
        on_beat = np.where(np.isin(beat, self.strong_beats), np.where(beat == 0, 0, 1), 2)
        return np.where(offset == 0, on_beat, np.where(offset % 2 == 0, 3, 4))

    def whole_bars(self, steps):
        """How many whole bars `steps` steps from a bar line hold."""
        return steps // self.steps_per_bar

    def slot_features(self, slots):
        """(slots, METER_FEATURES) float32 for a phrase that starts at a bar line: 1 at a downbeat, at a
        beat, at a strong beat, and the slot's phase in its bar (0 at the bar line, rising to 1)."""
        step = np.arange(slots) * SLOT_STEPS % self.steps_per_bar
        beat, offset = np.divmod(step, self.steps_per_beat)
        return np.stack([step == 0, offset == 0, (offset == 0) & np.isin(beat, self.strong_beats),
                         step / self.steps_per_bar], 1).astype(np.float32)


FOUR_FOUR = Meter(4, 4)
STEP_LEVELS = 5                # how many levels `Meter.step_levels` tells apart
