"""The only module that reads and writes MIDI (pretty_midi): files <-> `Song` (notes in seconds, beat grid)."""

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
        detail = str(e).strip().splitlines()[0][:80] if str(e).strip() else type(e).__name__
        raise MidiError(f"corrupt or truncated MIDI ({detail})") from None


def read_song(path):
    """Read a MIDI file into a `Song`, or raise `MidiError` with a one-line reason."""
    pm, data = load_pretty_midi(path)

    _, bpms = pm.get_tempo_changes()
    for bpm in bpms:
        if not C.MIN_BPM <= bpm <= C.MAX_BPM:
            raise MidiError(f"extreme tempo {bpm:.4g} bpm (accepted {C.MIN_BPM:g}-{C.MAX_BPM:g})")
    tracks = [Track(inst.name.strip() or f"track {i + 1}",
                    np.array([n.pitch for n in inst.notes], dtype=int),
                    np.array([n.start for n in inst.notes], dtype=float),
                    np.array([n.end for n in inst.notes], dtype=float),
                    inst.program, inst.is_drum)
              for i, inst in enumerate(pm.instruments)]
    tracks = [t for t in tracks if len(t)]
    if not tracks:
        raise MidiError("notes never end (note-on without note-off)" if _has_note_ons(data)
                        else "no notes")
    if all(t.is_drum for t in tracks):
        raise MidiError("drums only")
    end = pm.get_end_time()
    if end > C.MAX_SONG_SECONDS:
        raise MidiError(f"too long ({end / 60:.0f} min)")
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
