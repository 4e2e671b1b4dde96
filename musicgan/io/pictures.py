"""Piano-roll pictures of a MIDI file: melody bars over lighter chord notes, with bar lines and chord names."""

import numpy as np

from ..core.constants import MELODY_TRACK
from ..core.files import atomic_path
from .midi import read_song

# file and chord names are shown as written: a '$' in them is not the start of matplotlib's mathtext
PLAIN = {"parse_math": False, "usetex": False}


def _to_beats(seconds, beat_times):
    """Seconds -> beats on the file's own beat grid (tempo changes respected, extrapolated past the end)."""
    if len(beat_times) < 2:
        return np.asarray(seconds) / 0.5
    last = beat_times[-1] - beat_times[-2]
    grid = np.append(beat_times, beat_times[-1] + last * 1e4)
    return np.interp(seconds, grid, np.append(np.arange(len(beat_times)), len(beat_times) - 1 + 1e4))


def piano_roll_png(midi_path, png_path, chord_names=None, title=None):
    """Draw `midi_path` as a piano roll PNG; `chord_names` is one chord name per beat (optional).

    The track named 'Melody' (as generate.py writes it) is drawn in colour, the others in grey; bar
    lines stand at the file's own downbeats, so a waltz shows bars of three beats and 6/8 of two.
    """
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    song = read_song(midi_path)
    melody = next((i for i, t in enumerate(song.tracks) if t.name == MELODY_TRACK), None)
    beats = np.asarray(song.beats, dtype=float)
    end = max(float(_to_beats(t.ends.max(), beats)) for t in song.tracks)
    total = max(int(np.ceil(end - 1e-6)), len(chord_names or []), 1)
    bars = [float(b) for b in _to_beats(np.asarray(song.downbeats, float), beats) if b < total - 1e-6] + [total]
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
    for b in bars:
        ax.axvline(b, color="black", lw=0.8, zorder=1)
    previous = None
    for beat, name in enumerate(chord_names or []):
        if name != previous:
            ax.text(beat, 1.01, str(name), fontsize=8, va="bottom", transform=ax.get_xaxis_transform(), **PLAIN)
            previous = name
    ax.set_xlim(0, total)
    ax.set_xticks(bars, [str(k + 1) for k in range(len(bars))])
    ax.set_ylim(low, high)
    ax.set_xlabel("bar")
    ax.set_ylabel("MIDI pitch")
    if title:
        ax.set_title(title, pad=14 if chord_names else 6, **PLAIN)
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, format="png")
