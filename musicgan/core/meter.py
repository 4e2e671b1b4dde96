"""The meter: every count that depends on the time signature, on the 16th-note grid.

Compound meters (a numerator divisible by 3, above 3: 6/8, 9/8, 12/8, 6/4) beat in dotted notes,
as pretty_midi's `get_beats` counts them; 2/2 beats in halves, 3/8 in eighths.
"""

from dataclasses import dataclass

import numpy as np

from .errors import ConfigError

STEPS_PER_QUARTER = 4          # the grid is 16th notes
MAX_STEPS_PER_BAR = 64         # a bar longer than this (e.g. 17/4) does not fit the representation


@dataclass(frozen=True)
class Meter:
    numerator: int = 4
    denominator: int = 4

    def __post_init__(self):
        if self.numerator < 1 or self.denominator not in (1, 2, 4, 8, 16):
            raise ConfigError(f"meter {self} is not a time signature (a numerator >= 1 over 1, 2, 4, 8 or 16)")
        if not 1 <= self.numerator * STEPS_PER_QUARTER * 4 / self.denominator <= MAX_STEPS_PER_BAR:
            raise ConfigError(f"meter {self}: a bar must last 1-{MAX_STEPS_PER_BAR} 16ths")

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

    def beats(self, bars):
        return bars * self.beats_per_bar

    @property
    def strong_beats(self):
        """Beats (0-based, within a bar) that carry metrical weight: the downbeat, and the middle of
        a bar of four beats (4/4's beats 1 and 3, 12/8's first and third dotted quarter)."""
        return (0, 2) if self.beats_per_bar == 4 else (0,)

    def strong_steps(self, steps):
        """(steps,) bool: the grid steps (from a bar line) that lie within a strong beat."""
        return np.isin(np.arange(steps) % self.steps_per_bar // self.steps_per_beat, self.strong_beats)


FOUR_FOUR = Meter(4, 4)
