"""MIDI -> 16-bit mono WAV, rendered with FluidSynth (or pretty_midi's sine waves when it is missing)."""

import wave
from pathlib import Path

import numpy as np

from ..core.errors import ConfigError
from ..core.files import atomic_path
from .midi import load_pretty_midi

PEAK_DBFS = -1.0          # headroom left after normalising, so players and converters never clip


def _fluidsynth_problem(soundfont):
    """Why FluidSynth cannot render with `soundfont`, as one line, or None when it can."""
    try:
        import fluidsynth  # noqa: F401  (pyfluidsynth; finds libfluidsynth through ctypes on import)
    except ImportError as e:
        if isinstance(e, ModuleNotFoundError) and e.name == "fluidsynth":
            return "pyfluidsynth is not installed: pip install pyfluidsynth"
        return "libfluidsynth3 is not installed: apt-get install libfluidsynth3"
    except OSError as e:
        return f"libfluidsynth cannot be loaded ({e})"
    if not Path(soundfont).is_file():
        return f"no SoundFont at {soundfont}"
    return None


def synthesize(path, sample_rate=22050, soundfont=None):
    """(mono float32 audio, method) for the MIDI file at `path`, not normalised.

    Renders with FluidSynth and `soundfont` (default: the TimGM6mb.sf2 shipped with pretty_midi);
    without pyfluidsynth/libfluidsynth3 it falls back to pretty_midi's sine waves and the method
    reads "sine: <one-line reason>". Raises `MidiError` for a file that cannot be read.
    """
    import pretty_midi

    pm, _ = load_pretty_midi(path)
    soundfont = str(soundfont or Path(pretty_midi.__file__).parent / "TimGM6mb.sf2")
    problem = _fluidsynth_problem(soundfont)
    if problem is None:
        try:
            audio = pm.fluidsynth(fs=sample_rate, synthesizer=soundfont, normalize=False)
            return np.asarray(audio, dtype=np.float32), "fluidsynth"
        except Exception as e:  # noqa: BLE001 - a broken library or SoundFont must not cost the song
            problem = f"FluidSynth failed ({str(e).strip()[:80] or type(e).__name__})"
    audio = pm.synthesize(fs=sample_rate, normalize=False)
    return np.asarray(audio, dtype=np.float32), f"sine: {problem}"


def fallback_note(method):
    """The line to print once per run when `method` is not FluidSynth, else None."""
    if method == "fluidsynth":
        return None
    reason = method.partition(": ")[2] or "unknown reason"
    return f"FluidSynth not available ({reason}); using sine synthesis"


def write_wav(midi_path, wav_path, sample_rate=22050):
    """Render `midi_path` to `wav_path` (peak at -1 dBFS); returns "fluidsynth" or "sine: <reason>"."""
    if not 8000 <= sample_rate <= 96000:           # FluidSynth's accepted range
        raise ConfigError(f"sample rate must be 8000-96000 Hz, got {sample_rate}")
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
