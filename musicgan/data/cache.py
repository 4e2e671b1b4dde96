"""The phrase cache: `report.json` + `phrases.npz` in a folder per representation under the cache folder
(`entry_dir`), one entry per file keyed by size and mtime, so a second run reads no MIDI and a changed
or added file is re-read alone. Runs with other labels on one corpus (a fine-tune from a model trained
on per-beat chords, say) each keep their own, the newest KEEP of them."""

import hashlib
import json
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..core.files import atomic_path, write_text

ARRAYS = ("melody", "chords", "previous", "bar", "meter")
CACHE_VERSION = 5            # bump when reading or chord recognition changes
KEEP = 3                     # representations cached side by side; the least recently written goes first


def entry_dir(cache_dir, rep):
    """The folder under `cache_dir` that holds the phrases read under representation `rep`."""
    text = json.dumps({"version": CACHE_VERSION, **asdict(rep)}, sort_keys=True)
    return Path(cache_dir) / f"rep-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def file_key(path):
    """size:mtime of a file, the cache's test of "unchanged"."""
    try:
        st = path.stat()
        return f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        return "unreadable"


def load(cache_dir, rep):
    """{path: (report entry, arrays)} of the cached files, or {} when the cache is missing or stale. A cache
    written before the per-representation folders (CACHE/report.json) is read if its representation is `rep`."""
    cache_dir = next((d for d in (entry_dir(cache_dir, rep), Path(cache_dir)) if (d / "report.json").exists()),
                     Path(cache_dir))
    try:
        meta = json.loads((cache_dir / "report.json").read_text())
        if meta.get("version") != CACHE_VERSION or meta.get("representation") != json.loads(json.dumps(asdict(rep))):
            return {}
        with np.load(cache_dir / "phrases.npz") as z:
            arrays = {k: z[k] for k in ARRAYS + ("song",)}
    except (OSError, ValueError, KeyError):
        return {}
    cached = {}
    for i, entry in enumerate(meta["files"]):
        rows = arrays["song"] == i
        cached[entry["path"]] = (entry, {k: arrays[k][rows] for k in ARRAYS})
    return cached


def save(cache_dir, rep, corpus, keys):
    """Write the corpus' arrays and its per-file report (with each file's size:mtime key), then remove all
    but the KEEP newest representations' folders, and the files of the layout before them."""
    root, cache_dir = Path(cache_dir), entry_dir(cache_dir, rep)
    cache_dir.mkdir(parents=True, exist_ok=True)
    files = [dict(e, key=k) for e, k in zip(corpus.report, keys)]
    with atomic_path(cache_dir / "phrases.npz") as tmp, open(tmp, "wb") as f:
        np.savez(f, **{k: getattr(corpus, k) for k in ARRAYS + ("song",)})
    write_text(cache_dir / "report.json", json.dumps(
        {"version": CACHE_VERSION, "representation": asdict(rep), "summary": corpus.summary(),
         "files": files}, indent=1))
    others = sorted((d for d in root.glob("rep-*") if d.is_dir() and d != cache_dir),
                    key=lambda d: d.stat().st_mtime, reverse=True)
    for old in others[KEEP - 1:]:
        shutil.rmtree(old, ignore_errors=True)
    for name in ("report.json", "phrases.npz"):              # one cache for every representation, before
        (root / name).unlink(missing_ok=True)
