"""Piano-roll pictures of a MIDI file: melody bars over lighter chord notes, with bar lines and chord names."""

import numpy as np

from .encoding import pick_melody
from .files import atomic_path
from .midi_io import read_song


def _to_beats(seconds, beat_times):
    """Seconds -> beats on the file's own beat grid (tempo changes respected, extrapolated past the end)."""
    if len(beat_times) < 2:
        return np.asarray(seconds) / 0.5
    last = beat_times[-1] - beat_times[-2]
    grid = np.append(beat_times, beat_times[-1] + last * 1e4)
    return np.interp(seconds, grid, np.append(np.arange(len(beat_times)), len(beat_times) - 1 + 1e4))


def piano_roll_png(midi_path, png_path, chord_names=None, beats_per_bar=4, title=None):
    """Draw `midi_path` as a piano roll PNG; `chord_names` is one chord name per beat (optional)."""
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    song = read_song(midi_path)
    melody = pick_melody(song)
    beats = np.asarray(song.beats, dtype=float)
    end = max(float(_to_beats(t.ends.max(), beats)) for t in song.tracks)
    total = max(int(np.ceil(end / beats_per_bar)) * beats_per_bar, len(chord_names or []), beats_per_bar)
    fig = Figure(figsize=(min(max(6.0, 0.22 * total), 40.0), 4.0), dpi=100)
    ax = fig.add_subplot()
    pitches = []
    for i, track in enumerate(song.tracks):
        if track.is_drum:
            continue
        start, stop = _to_beats(track.starts, beats), _to_beats(track.ends, beats)
        style = ({"color": "tab:blue", "alpha": 0.9, "zorder": 3} if i == melody
                 else {"color": "tab:gray", "alpha": 0.3, "zorder": 2})
        ax.barh(track.pitches, stop - start, left=start, height=0.8, linewidth=0, **style)
        pitches.extend(track.pitches)
    low, high = (min(pitches) - 2, max(pitches) + 3) if pitches else (48, 84)
    for b in range(0, total + 1, beats_per_bar):
        ax.axvline(b, color="black", lw=0.8, zorder=1)
    previous = None
    for beat, name in enumerate(chord_names or []):
        if name != previous:
            ax.text(beat, 1.01, str(name), fontsize=8, va="bottom", transform=ax.get_xaxis_transform())
            previous = name
    ax.set_xlim(0, total)
    ax.set_xticks(range(0, total + 1, beats_per_bar))
    ax.set_ylim(low, high)
    ax.set_xlabel("beat")
    ax.set_ylabel("MIDI pitch")
    if title:
        ax.set_title(title, pad=14 if chord_names else 6)
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, format="png")



def evaluation_png(report, png_path):
    """One small bar chart per metric of an evaluation report, the real row drawn as a line."""
    from matplotlib.figure import Figure

    from .evaluate import COLUMNS, SHORT

    rows = report["rows"]
    names = list(rows)
    fig = Figure(figsize=(14, 9), dpi=90)
    for i, key in enumerate(COLUMNS):
        ax = fig.add_subplot(4, 4, i + 1)
        values = [rows[n][key] for n in names]
        ax.barh(range(len(names)), values, color=["tab:green" if n.startswith("real") else
                                                   "tab:blue" if n == "model" else "tab:gray" for n in names])
        ax.axvline(rows[names[0]][key], color="black", lw=0.8)
        ax.set_yticks(range(len(names)), names if i % 4 == 0 else [], fontsize=8)
        ax.invert_yaxis()
        ax.set_title(SHORT[key], fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle(f"{report['models']}: {report['held_out']}, {report['windows']} windows x {report['seeds']} seeds")
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, format="png")
