"""The phrase cache: `report.json` + `phrases.npz` in the cache folder, one entry per file keyed by size
and mtime, so a second run reads no MIDI and a changed or added file is re-read alone."""

import json
from dataclasses import asdict

import numpy as np

from ..core.files import atomic_path, write_text

ARRAYS = ("melody", "chords", "previous", "bar", "meter")
CACHE_VERSION = 5            # bump when reading or chord recognition changes


def file_key(path):
    """size:mtime of a file, the cache's test of "unchanged"."""
    try:
        st = path.stat()
        return f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        return "unreadable"


def load(cache_dir, rep):
    """{path: (report entry, arrays)} of the cached files, or {} when the cache is missing or stale."""
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
    """Write the corpus' arrays and its per-file report (with each file's size:mtime key)."""
    files = [dict(e, key=k) for e, k in zip(corpus.report, keys)]
    with atomic_path(cache_dir / "phrases.npz") as tmp, open(tmp, "wb") as f:
        np.savez(f, **{k: getattr(corpus, k) for k in ARRAYS + ("song",)})
    write_text(cache_dir / "report.json", json.dumps(
        {"version": CACHE_VERSION, "representation": asdict(rep), "summary": corpus.summary(),
         "files": files}, indent=1))
