"""A song's time grid: 16th-note steps from the file's own beats, its bars, and the meter of each bar.

Beats come from the MIDI file (tempo changes respected; compound meters beat in dotted notes),
each cut into its meter's steps per beat; bars start at the file's downbeats, so a meter change
starts a new bar grid and a pickup before the first downbeat leaves the bars where they are.
A bar whose meter the grid cannot hold is kept with its meter None and the reason in `problems`.
"""

from dataclasses import dataclass, field

import numpy as np

from ..core.meter import Meter, meter_problem
from ..io.midi import MidiError


class SkipSong(MidiError):
    """A readable song this pipeline cannot use (meter, no melody, too short); message = reason."""


@dataclass
class Grid:
    times: np.ndarray                       # (steps + 1,) step boundaries in seconds
    beat_starts: np.ndarray                 # (beats,) first step of each beat
    bar_starts: np.ndarray                  # (bars,) first step of each bar
    bar_meters: list                        # (bars,) the Meter of each bar, None where unusable
    problems: dict = field(default_factory=dict)   # {"17/4": why the grid cannot hold it}

    @property
    def steps(self):
        return len(self.times) - 1

    @property
    def bar_steps(self):
        """(bars,) each bar's length in steps (the last bar runs to the end of the grid)."""
        return np.diff(np.append(self.bar_starts, self.steps))

    def regular(self):
        """(bars,) bool: the bar's meter is usable and the bar is as long as the meter says."""
        return np.array([m is not None and n == m.steps_per_bar for m, n in zip(self.bar_meters, self.bar_steps)],
                        bool)

    def to_steps(self, times):
        """Nearest grid index of each time (times past the end clamp to the last boundary)."""
        return np.rint(np.interp(times, self.times, np.arange(len(self.times)))).astype(int)


def _meter(num, den, problems):
    """Meter(num, den), or None with the reason noted in `problems`."""
    problem = meter_problem(num, den)
    if problem:
        problems[f"{num}/{den}"] = problem
        return None
    return Meter(num, den)


def song_grid(song):
    """The `Grid` of a `Song` (beats, downbeats and time signatures from its MIDI file)."""
    beats = np.asarray(song.beats, float)
    if len(beats) < 2:
        raise SkipSong("too short (fewer than 2 beats)")
    sigs = sorted(song.time_signatures, key=lambda s: s[2])
    problems = {}
    meters = [_meter(n, d, problems) for n, d, _ in sigs]
    at = np.searchsorted([t for _, _, t in sigs], beats + 1e-6, "right") - 1          # (beats,) signature index
    # a beat in an unusable meter still needs steps: 4 a beat keeps the grid going to the next signature
    per_beat = np.array([meters[i].steps_per_beat if i >= 0 and meters[i] else 4 for i in at])
    edges = np.append(beats, beats[-1] + (beats[-1] - beats[-2]))
    starts = np.concatenate([[0], np.cumsum(per_beat)])
    frac = np.concatenate([np.arange(k) / k for k in per_beat])
    beat_of_step = np.repeat(np.arange(len(beats)), per_beat)
    times = np.append(edges[beat_of_step] + np.diff(edges)[beat_of_step] * frac, edges[-1])
    down = np.unique(np.searchsorted(beats, np.asarray(song.downbeats, float) - 1e-6))
    down = down[down < len(beats)]
    if not len(down):
        raise SkipSong("too short (no bar)")
    bar_meters = [meters[at[b]] if at[b] >= 0 else None for b in down]
    return Grid(times, starts[:-1], starts[down], bar_meters, problems)
