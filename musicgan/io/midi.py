"""The only module that reads and writes MIDI: files <-> `Song` (notes in seconds, beat grid).

Reading is symusic's C++ parser (`read_song`, 50-100x pretty_midi's speed, which bounds `prepare`);
writing and synthesis stay with pretty_midi. `read_song_pretty_midi` is the reader it replaced,
kept as the reference that tests hold `read_song` to.
"""

import io
import os
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core import constants as C
from ..core.errors import UserError
from ..core.files import atomic_path


class MidiError(UserError, ValueError):
    """A MIDI file that cannot be used; the message is the one-line reason shown to the user."""


@dataclass
class Track:
    name: str
    pitches: np.ndarray                     # (notes,) int MIDI pitch
    starts: np.ndarray                      # (notes,) float seconds
    ends: np.ndarray                        # (notes,) float seconds
    program: int = 0
    is_drum: bool = False
    velocity: int = 90

    def __len__(self):
        return len(self.pitches)


@dataclass
class Song:
    tracks: list
    bpm: float = C.DEFAULT_BPM              # initial tempo
    time_signatures: list = field(default_factory=lambda: [(4, 4, 0.0)])   # (num, den, seconds)
    beats: np.ndarray = None                # (beats,) seconds, tempo changes respected
    downbeats: np.ndarray = None            # (bars,) seconds, time signatures respected
    end: float = None                       # seconds: written files last this long even if silent at the end
    key_signatures: list = field(default_factory=list)   # (key_number, seconds): 0-11 C..B major, 12-23 minor
    resolution: int = C.MIDI_RESOLUTION     # MIDI ticks per quarter note (480 holds triplets exactly)


def make_track(name, notes, program=0, is_drum=False, velocity=90):
    """Track from an iterable of (pitch, start_seconds, end_seconds)."""
    arr = np.asarray(list(notes), dtype=float).reshape(-1, 3)
    return Track(name, arr[:, 0].astype(int), arr[:, 1], arr[:, 2], program, is_drum, velocity)


def _read_bytes(path):
    """The bytes of a MIDI file, or `MidiError`. Its type and size are checked before anything is read,
    and at most MAX_FILE_BYTES + 1 bytes are read, so a FIFO, a device or a huge file cannot hang the
    reader or fill the memory; a file with pathologically many meter changes is refused unparsed."""
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise MidiError("dangling symbolic link")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)       # a FIFO opens without waiting for a writer
    except IsADirectoryError:
        raise MidiError("is a directory, not a file") from None
    except PermissionError:
        raise MidiError("permission denied") from None
    except OSError as e:
        raise MidiError(f"cannot read ({e.strerror or e})") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise MidiError("is a directory, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise MidiError(f"not a regular file (a {_kind(st.st_mode)})")
        if st.st_size > C.MAX_FILE_BYTES:
            raise MidiError(_too_large(st.st_size))
        chunks, size = [], 0
        while size <= C.MAX_FILE_BYTES and (chunk := os.read(fd, C.MAX_FILE_BYTES + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    except OSError as e:
        raise MidiError(f"cannot read ({e.strerror or e})") from None
    finally:
        os.close(fd)
    if not data:
        raise MidiError("empty file")
    if len(data) > C.MAX_FILE_BYTES:                       # it grew since fstat
        raise MidiError(_too_large(len(data)))
    if data[:4] != b"MThd":
        raise MidiError("not a MIDI file (no MThd header)")
    meters = data.count(b"\xff\x58\x04")                     # time-signature meta events (an upper bound)
    if meters > C.MAX_METER_CHANGES:
        raise MidiError(f"too many time-signature changes ({meters} > {C.MAX_METER_CHANGES})")
    return data


def _too_large(size):
    return f"too large ({size / 2**20:.1f} MB > {C.MAX_FILE_BYTES / 2**20:.0f} MB)"


def _kind(mode):
    kinds = ((stat.S_ISFIFO, "named pipe"), (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
             (stat.S_ISSOCK, "socket"))
    return next((name for test, name in kinds if test(mode)), "special file")


def _has_note_ons(data):
    import mido  # pretty_midi's own parser; only asked when pretty_midi found no notes

    try:
        return any(m.type == "note_on" and m.velocity > 0
                   for track in mido.MidiFile(file=io.BytesIO(data)).tracks for m in track)
    except Exception:  # noqa: BLE001 - mido raises many kinds on broken bytes
        return False


def load_pretty_midi(path):
    """(PrettyMIDI, raw bytes) of a MIDI file, or `MidiError` with the reason."""
    import pretty_midi

    data = _read_bytes(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pretty_midi.PrettyMIDI(io.BytesIO(data)), data
    except Exception as e:  # noqa: BLE001 - pretty_midi raises many kinds on broken bytes
        raise _corrupt(e) from None


def _corrupt(e):
    detail = str(e).strip().splitlines()[0][:80] if str(e).strip() else type(e).__name__
    return MidiError(f"corrupt or truncated MIDI ({detail})")


def _check_song(tracks, bpms, end, data):
    """The reasons a parsed file is not a song: shared by both readers."""
    for bpm in bpms:
        if not C.MIN_BPM <= bpm <= C.MAX_BPM:
            raise MidiError(f"extreme tempo {bpm:.4g} bpm (accepted {C.MIN_BPM:g}-{C.MAX_BPM:g})")
    if not tracks:
        raise MidiError("notes never end (note-on without note-off)" if _has_note_ons(data) else "no notes")
    if all(t.is_drum for t in tracks):
        raise MidiError("drums only")
    if end > C.MAX_SONG_SECONDS:
        raise MidiError(f"too long ({end / 60:.0f} min)")


def read_song(path):
    """Read a MIDI file into a `Song`, or raise `MidiError` with a one-line reason.

    The same `Song` as pretty_midi gives (`read_song_pretty_midi`), computed in ticks and converted once:
    notes as pretty_midi pairs them (a note-off ends every open note of its pitch; zero-length notes
    dropped), its default of 120 bpm before the first tempo, its beats (a beat of 1/den, 3/den in
    compound meters, restarting at each time-signature change) and downbeats. Where the two differ, on
    files that break the standard: tempo and meter events outside the first track count here; several
    time signatures on one tick count once (the last); a track that plays on several channels lists
    them by channel, not by first note-off; a beat on the file's last event is left out (pretty_midi sums
    beat lengths, so it keeps or drops that beat by rounding).
    """
    import symusic

    data = _read_bytes(path)
    try:
        score = symusic.Score.from_midi(data)
    except Exception as e:  # noqa: BLE001 - symusic raises RuntimeError, and others on odd bytes
        raise _corrupt(e) from None
    tpq = score.ticks_per_quarter
    if tpq <= 0:
        raise MidiError("corrupt or truncated MIDI (SMPTE time division is not supported)")
    change_ticks, scales = _tick_scales(score.tempos.numpy(), tpq)
    seconds = _seconds_of(change_ticks, scales)
    tracks = _tracks(score.tracks, seconds)
    sig_ticks, num, den = _time_signatures(score.time_signatures.numpy())
    # the last event of any kind, as pretty_midi's get_end_time (notes, controls, meta events)
    end_tick = max(score.end(), change_ticks[-1], sig_ticks.max(initial=0),
                   score.key_signatures.numpy()["time"].max(initial=0))
    _check_song(tracks, 60.0 / (scales * tpq), seconds(end_tick), data)
    beat_ticks = _beat_ticks(sig_ticks, num, den, tpq, end_tick)
    return Song(tracks=tracks, bpm=float(60.0 / (scales[0] * tpq)),
                time_signatures=[(int(n), int(d), float(seconds(t))) for n, d, t in zip(num, den, sig_ticks)]
                or [(4, 4, 0.0)],
                beats=seconds(beat_ticks), downbeats=seconds(_downbeat_ticks(beat_ticks, sig_ticks, num)))


def _tracks(score_tracks, seconds):
    """`Track`s of the symusic tracks that sound, every note of the file paired and converted at once."""
    notes = [t.notes.numpy() for t in score_tracks]
    counts = [len(n["time"]) for n in notes]
    if not sum(counts):
        return []
    start = np.concatenate([n["time"] for n in notes]).astype(np.int64)
    pitch = np.concatenate([n["pitch"] for n in notes]).astype(int)
    track = np.repeat(np.arange(len(notes)), counts)
    end = _first_note_off(start, start + np.concatenate([n["duration"] for n in notes]), track * 128 + pitch)
    keep = end > start
    pitch, n = pitch[keep], int(keep.sum())
    times = seconds(np.concatenate([start[keep], end[keep]]))
    bounds = np.cumsum(np.bincount(track[keep], minlength=len(notes))).tolist()
    out = []
    for t, a, b in zip(score_tracks, [0] + bounds, bounds):
        if b > a:
            out.append(Track(t.name.strip() or f"track {len(out) + 1}", pitch[a:b], times[a:b], times[n + a:n + b],
                             int(t.program), bool(t.is_drum)))
    return out


def _time_signatures(sigs):
    """(ticks, numerators, denominators) in time order, the last of several on one tick."""
    ticks, num, den = sigs["time"].astype(np.int64), sigs["numerator"].astype(int), sigs["denominator"].astype(int)
    order = np.argsort(ticks, kind="stable")
    ticks, num, den = ticks[order], num[order], den[order]
    last = np.append(ticks[1:] != ticks[:-1], True)[:len(ticks)]
    return ticks[last], num[last], den[last]


def _tick_scales(tempos, tpq):
    """(ticks (K,) where a tempo starts, seconds per tick (K,)) as pretty_midi keeps them: 120 bpm until the
    first tempo, the last of several at tick 0, repeats of the tempo before dropped."""
    ticks, scales = [0], [60.0 / (120.0 * tpq)]
    for tick, mspq in zip(tempos["time"].tolist(), tempos["mspq"].tolist()):
        if mspq <= 0:
            raise MidiError("corrupt or truncated MIDI (a tempo of 0 microseconds a beat)")
        scale = 60.0 / ((6e7 / mspq) * tpq)
        if tick == 0:
            ticks, scales = [0], [scale]
        elif scale != scales[-1]:
            ticks.append(tick)
            scales.append(scale)
    return np.array(ticks, np.int64), np.array(scales)


def _seconds_of(change_ticks, scales):
    """ticks (any shape, may be fractional) -> seconds, through the piecewise-linear tempo map."""
    starts = np.concatenate([[0.0], np.cumsum(np.diff(change_ticks) * scales[:-1])])

    def seconds(ticks):
        ticks = np.asarray(ticks, float)
        k = np.searchsorted(change_ticks, ticks, side="right") - 1
        return starts[k] + (ticks - change_ticks[k]) * scales[k]

    return seconds


def _first_note_off(start, end, pitch):
    """Note ends as pretty_midi pairs them: the first note-off of the pitch (any int key: a track's
    pitch) after the note began (symusic pairs first-in, first-out, which differs only where notes of
    one pitch overlap). Zero-length notes, which pretty_midi drops, stay zero-length."""
    span = max(int(end.max(initial=0)) + 1, 1)
    keys = np.sort(pitch * span + end)                       # note-offs grouped by pitch, in time order
    sounding = end > start
    found = keys[np.minimum(np.searchsorted(keys, pitch * span + start, side="right"), len(keys) - 1)]
    return np.where(sounding, np.minimum(found - pitch * span, end), end)


def _beat_length(num, den, tpq):
    """Ticks a beat: a 1/den note, 3/den in compound meters (6/8, 9/8, 12/8), as pretty_midi's qpm_to_bpm."""
    if den not in (1, 2, 4, 8, 16, 32):
        return float(tpq)
    return tpq * 4.0 / den * (3 if num % 3 == 0 and num != 3 else 1)


def _beat_ticks(sig_ticks, num, den, tpq, end_tick):
    """Beat positions (ticks, float) before end_tick: each time signature's beats from its first tick, the
    first signature's also before it, 4/4 quarters without any."""
    if not len(sig_ticks):
        return np.arange(0, end_tick, float(tpq))
    lengths = [_beat_length(n, d, tpq) for n, d in zip(num, den)]
    bounds = np.append(sig_ticks, end_tick).astype(float)
    spans = [np.arange(0.0, bounds[0], lengths[0])] if bounds[0] > 0 else []
    spans += [np.arange(a, b, step) for a, b, step in zip(bounds[:-1], np.maximum(bounds[1:], bounds[:-1]), lengths)]
    beats = np.concatenate(spans)
    return beats[beats < end_tick]


def _downbeat_ticks(beats, sig_ticks, num):
    """Every bar's first beat, as pretty_midi's get_downbeats counts them (a 4/4 before the first
    signature; compound meters count dotted beats) without its quadratic search."""
    if not len(beats):
        return beats
    if not len(sig_ticks) or sig_ticks[0] > 0:
        sig_ticks, num = np.append(0, sig_ticks), np.append(4, num)
    firsts = np.searchsorted(beats, sig_ticks)
    found = (firsts < len(beats)) & (beats[np.minimum(firsts, len(beats) - 1)] == sig_ticks)
    out, end_idx = [], 0
    for k in range(len(sig_ticks)):
        start_idx = firsts[k] if found[k] else (end_idx if k == len(sig_ticks) - 1 else 0)
        if k < len(sig_ticks) - 1:
            end_idx = firsts[k + 1] if found[k + 1] else start_idx
            stop = end_idx
        else:
            stop = len(beats)
        step = num[k] // 3 if num[k] % 3 == 0 and num[k] != 3 else num[k]
        out.append(beats[start_idx:stop:step])
    return np.concatenate(out) if out else beats[:0]


def read_song_pretty_midi(path):
    """`read_song` through pretty_midi: the reference the symusic reader is tested against."""
    pm, data = load_pretty_midi(path)

    _, bpms = pm.get_tempo_changes()
    tracks = [Track(inst.name.strip() or f"track {i + 1}",
                    np.array([n.pitch for n in inst.notes], dtype=int),
                    np.array([n.start for n in inst.notes], dtype=float),
                    np.array([n.end for n in inst.notes], dtype=float),
                    inst.program, inst.is_drum)
              for i, inst in enumerate(pm.instruments)]
    _check_song([t for t in tracks if len(t)], bpms, pm.get_end_time(), data)
    tracks = [t for t in tracks if len(t)]
    sigs = [(ts.numerator, ts.denominator, ts.time) for ts in pm.time_signature_changes]
    return Song(tracks=tracks, bpm=float(bpms[0]) if len(bpms) else C.DEFAULT_BPM,
                time_signatures=sigs or [(4, 4, 0.0)],
                beats=pm.get_beats(), downbeats=pm.get_downbeats(),
                key_signatures=[(k.key_number, k.time) for k in pm.key_signature_changes],
                resolution=pm.resolution)


def song_to_pretty_midi(song):
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(resolution=song.resolution, initial_tempo=song.bpm)
    pm.time_signature_changes = [pretty_midi.TimeSignature(n, d, t) for n, d, t in song.time_signatures]
    pm.key_signature_changes = [pretty_midi.KeySignature(int(k), float(t)) for k, t in song.key_signatures]
    for t in song.tracks:
        inst = pretty_midi.Instrument(program=int(t.program), is_drum=t.is_drum, name=t.name)
        inst.notes = [pretty_midi.Note(velocity=int(t.velocity), pitch=int(p), start=float(s), end=float(e))
                      for p, s, e in zip(t.pitches, t.starts, t.ends)]
        pm.instruments.append(inst)
    if song.end is not None and pm.instruments:      # an event at the end makes players keep the last bar
        pm.instruments[0].control_changes.append(pretty_midi.ControlChange(123, 0, float(song.end)))
    return pm


def max_bars(meter):
    """The most bars of `meter` a written song may have and still read back (`C.MAX_MIDI_TICKS`)."""
    return C.MAX_MIDI_TICKS * meter.denominator // (C.MIDI_RESOLUTION * 4 * meter.numerator)    # ticks a bar


def write_song(song, path):
    """Write `song` as a standard MIDI file (tempo, time signatures, one named track each); a song too
    long for MIDI readers (past `C.MAX_MIDI_TICKS`) is refused with `MidiError`."""
    pm = song_to_pretty_midi(song)
    ticks = pm.time_to_tick(pm.get_end_time())
    if ticks > C.MAX_MIDI_TICKS:
        raise MidiError(f"a song of {ticks} MIDI ticks would not read back (readers stop at {C.MAX_MIDI_TICKS}): "
                        "write it in parts")
    with atomic_path(path) as tmp:
        pm.write(str(tmp))
