"""A folder of generated songs -> one static index.html with a player, piano roll and metadata per song."""

import html
import json
from pathlib import Path
from urllib.parse import quote

from ..core.errors import UserError
from ..core.files import write_text

CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;color:#222}
section{border-top:1px solid #ccc;padding:1em 0}h2{font-size:1.1em;margin:0 0 .5em}
img{max-width:100%;height:auto;display:block;margin:.5em 0}audio{width:100%}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0}
td,th{border:1px solid #ddd;padding:.2em .6em;text-align:left;vertical-align:top;word-break:break-word}
th{background:#f4f4f4}.missing{color:#a33}"""


def read_sidecar(midi_path):
    """The song's NAME.json metadata as a dict ({} when absent or unreadable)."""
    path = Path(midi_path).with_suffix(".json")
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _cell(value):
    return " ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _url(path):
    """Relative URL of a file next to index.html, ready to put in an attribute."""
    return html.escape(quote(path.name))


def _section(midi):
    esc, url = html.escape, _url
    parts = [f"<section>\n<h2>{esc(midi.stem)}</h2>"]
    wav, png = midi.with_suffix(".wav"), midi.with_suffix(".png")
    if wav.exists():
        parts.append(f'<audio controls preload="metadata"><source src="{url(wav)}" type="audio/wav">'
                     f'</audio>')
    else:
        parts.append('<p class="missing">no audio: run generate.py with --wav</p>')
    if png.exists():
        parts.append(f'<img src="{url(png)}" alt="piano roll of {esc(midi.name)}">')
    meta = read_sidecar(midi)
    if meta:
        rows = "".join(f"<tr><th>{esc(str(k))}</th><td>{esc(_cell(v))}</td></tr>" for k, v in meta.items())
        parts.append(f"<table>{rows}</table>")
    parts.append(f'<p><a href="{url(midi)}" download>download {esc(midi.name)}</a></p>\n</section>')
    return "\n".join(parts)


def build_page(folder):
    """Write folder/index.html for every *.mid in `folder` (sorted) and return its path."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder")
    songs = sorted(folder.glob("*.mid"))
    body = "\n".join(map(_section, songs)) if songs else "<p>No .mid files in this folder.</p>"
    page = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<link rel="icon" href="data:,">\n<title>musicgan: {html.escape(folder.resolve().name)}</title>\n'
            f"<style>{CSS}</style>\n</head>\n<body>\n<h1>{len(songs)} song{'s' * (len(songs) != 1)} in "
            f"{html.escape(folder.resolve().name)}</h1>\n{body}\n</body>\n</html>\n")
    out = folder / "index.html"
    write_text(out, page)
    return out


def render_missing(folder, sample_rate=22050):
    """Write the missing .wav/.png of every *.mid in `folder`.

    Returns (written paths, set of synthesis methods, [(file name, reason)] of unreadable MIDI skipped).
    """
    from .audio import write_wav
    from .midi import MidiError
    from .pictures import piano_roll_png

    written, methods, skipped = [], set(), []
    for midi in sorted(Path(folder).glob("*.mid")):
        wav, png = midi.with_suffix(".wav"), midi.with_suffix(".png")
        chords = read_sidecar(midi).get("beat_chords")
        try:
            if not wav.exists():
                methods.add(write_wav(midi, wav, sample_rate))
                written.append(wav)
            if not png.exists():
                piano_roll_png(midi, png, chords if isinstance(chords, list) else None, title=midi.name)
                written.append(png)
        except MidiError as e:
            skipped.append((midi.name, str(e)))
    return written, methods, skipped
