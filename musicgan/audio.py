"""MIDI -> 16-bit mono WAV, rendered with FluidSynth (or sine waves when it is missing)."""

import wave

import numpy as np

from .files import atomic_path
from .midi_io import synthesize

PEAK_DBFS = -1.0          # headroom left after normalising, so players and converters never clip


def fallback_note(method):
    """The line to print once per run when `method` is not FluidSynth, else None."""
    if method == "fluidsynth":
        return None
    reason = method.partition(": ")[2] or "unknown reason"
    return f"FluidSynth not available ({reason}); using sine synthesis"


def write_wav(midi_path, wav_path, sample_rate=22050):
    """Render `midi_path` to `wav_path` (peak at -1 dBFS); returns "fluidsynth" or "sine: <reason>"."""
    if not 8000 <= sample_rate <= 96000:           # FluidSynth's accepted range
        raise ValueError(f"sample rate must be 8000-96000 Hz, got {sample_rate}")
    audio, method = synthesize(midi_path, sample_rate)
    audio = np.nan_to_num(audio)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > 0:
        audio = audio * (10 ** (PEAK_DBFS / 20) / peak)
    pcm = np.round(audio * 32767).astype("<i2")
    with atomic_path(wav_path) as tmp, wave.open(str(tmp), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return method
