"""Audio rendering, piano rolls and the audition page, down to a real headless browser playing it."""

import functools
import http.server
import json
import shutil
import struct
import sys
import threading
import wave
from pathlib import Path

import numpy as np
import pytest

from musicgan import cli
from musicgan.io.audio import fallback_note, synthesize, write_wav
from musicgan.io.audition import build_page
from musicgan.io.midi import MidiError
from musicgan.io.pictures import piano_roll_png

from .conftest import write_midi

CHROMIUM = Path("/usr/bin/chromium")
SECONDS = 8.0                                    # write_midi: 4 bars at 120 bpm


def read_wav(path):
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        return w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), "<i2")


@pytest.fixture
def short_midi(tmp_path):
    return write_midi(tmp_path / "song.mid", bars=4)


def test_write_wav_is_readable_loud_and_as_long_as_the_midi(short_midi, tmp_path):
    method = write_wav(short_midi, tmp_path / "song.wav", sample_rate=16000)
    rate, pcm = read_wav(tmp_path / "song.wav")
    assert rate == 16000
    assert abs(len(pcm) / rate - SECONDS) <= 1.0, (len(pcm) / rate, method)
    assert np.abs(pcm).max() == pytest.approx(32767 * 10 ** (-1 / 20), abs=2)   # peak at -1 dBFS
    assert np.sqrt(np.mean(pcm.astype(float) ** 2)) > 500                     # not near silence


def test_fluidsynth_is_used_when_installed(short_midi, tmp_path):
    try:
        import fluidsynth  # noqa: F401
    except (ImportError, OSError) as e:
        pytest.skip(f"FluidSynth not installed here ({e}); `make deps-audio` installs libfluidsynth3")
    assert write_wav(short_midi, tmp_path / "song.wav") == "fluidsynth"


def test_without_fluidsynth_it_falls_back_to_sine_and_says_why(short_midi, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "fluidsynth", None)          # `import fluidsynth` now fails
    method = write_wav(short_midi, tmp_path / "song.wav")
    assert method.split(":")[0] == "sine"
    assert fallback_note(method) == \
        "FluidSynth not available (pyfluidsynth is not installed: pip install pyfluidsynth); using sine synthesis"
    rate, pcm = read_wav(tmp_path / "song.wav")
    assert rate == 22050 and abs(len(pcm) / rate - SECONDS) <= 1.0 and np.abs(pcm).max() > 20000
    assert fallback_note("fluidsynth") is None


def test_a_missing_soundfont_falls_back_to_sine(short_midi, tmp_path):
    audio, method = synthesize(short_midi, soundfont=tmp_path / "none.sf2")
    assert method == f"sine: no SoundFont at {tmp_path / 'none.sf2'}"
    assert audio.dtype == np.float32 and audio.ndim == 1 and np.abs(audio).max() > 0


def test_bad_input_is_refused_and_leaves_no_file(tmp_path, short_midi):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    with pytest.raises(MidiError, match="corrupt or truncated"):
        write_wav(bad, tmp_path / "bad.wav")
    with pytest.raises(ValueError, match="sample rate must be 8000-96000"):
        write_wav(short_midi, tmp_path / "song.wav", sample_rate=100)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mid", "song.mid"]


def test_piano_roll_png(short_midi, tmp_path):
    names = ["C"] * 4 + ["G"] * 4 + ["Am"] * 4 + ["F"] * 4
    piano_roll_png(short_midi, tmp_path / "song.png", chord_names=names, title="song <1>")
    data = (tmp_path / "song.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert 500 <= width <= 4000 and 200 <= height <= 1000 and len(data) > 5000
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []      # no temporary left


def make_folder(tmp_path):
    """Two songs: 'a' with .wav and a sidecar full of markup, 'b & c' with neither."""
    folder = tmp_path / "out"
    for name in ("a", "b & c"):
        write_midi(folder / f"{name}.mid", bars=2)
    write_wav(folder / "a.mid", folder / "a.wav")
    (folder / "a.json").write_text(json.dumps({"chords": "C | G <b>", "seed": 7, "model": "<script>x</script>",
                                               "beat_chords": ["C", "C", "G", "G"]}))
    return folder


def test_build_page(tmp_path):
    folder = make_folder(tmp_path)
    page = build_page(folder).read_text()
    assert page.count("<section>") == 2 and page.count("<audio") == 1
    assert '<source src="a.wav" type="audio/wav">' in page
    assert page.count("no audio: run generate.py with --wav") == 1
    assert "<th>seed</th><td>7</td>" in page and "<td>C | G &lt;b&gt;</td>" in page
    assert "<script" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert 'href="b%20%26%20c.mid" download' in page and "<h2>b &amp; c</h2>" in page
    assert page.index("<h2>a</h2>") < page.index("<h2>b &amp; c</h2>")
    assert "http" not in page                                       # nothing external


def test_audition_command_renders_what_is_missing(tmp_path, capsys):
    folder = make_folder(tmp_path)
    assert cli.main(["audition", str(folder), "--render"]) == 0
    assert {p.name for p in folder.iterdir()} >= {"a.png", "b & c.wav", "b & c.png", "index.html"}
    page = (folder / "index.html").read_text()
    assert page.count("<audio") == 2 and "no audio" not in page and page.count("<img") == 2
    assert "rendered 3 files" in capsys.readouterr().out
    assert cli.main(["audition", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_a_file_name_with_dollar_signs_is_drawn_as_written(tmp_path, capsys):
    folder = tmp_path / "out"
    write_midi(folder / "song $x^$ 5$.mid", bars=2)          # '$x^$' is broken mathtext
    (folder / "song $x^$ 5$.json").write_text(json.dumps({"beat_chords": ["C$^$"] * 8}))
    assert cli.main(["audition", str(folder), "--render"]) == 0
    assert (folder / "song $x^$ 5$.png").read_bytes()[:4] == b"\x89PNG"
    assert "rendered 2 files" in capsys.readouterr().out


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


AUDIO_DURATIONS = """() => Promise.all([...document.querySelectorAll('audio')].map(a => Promise.race([
  new Promise(r => { if (a.readyState >= 1) r(a.duration);
                     a.addEventListener('loadedmetadata', () => r(a.duration)); }),
  new Promise(r => setTimeout(() => r('timeout, networkState ' + a.networkState), 10000))])))"""


@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium: `make deps-audio` installs it (as root)")
def test_page_plays_in_a_headless_browser(tmp_path):
    from playwright.sync_api import sync_playwright

    folder = make_folder(tmp_path)
    shutil.copy(folder / "a.wav", folder / "b & c.wav")
    build_page(folder)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=folder))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    flags = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync"]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=flags,
                                        chromium_sandbox=False)
            page = browser.new_page()
            errors, requests = [], []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(base + "index.html")
            durations = page.evaluate(AUDIO_DURATIONS)
            sources = page.eval_on_selector_all("audio", "els => els.map(a => a.currentSrc)")
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    assert errors == []
    assert sources == [base + "a.wav", base + "b%20%26%20c.wav"]
    assert all(isinstance(d, (int, float)) and 2.0 <= d <= 6.0 for d in durations), durations
    assert all(url.startswith(base) for url in requests), requests
