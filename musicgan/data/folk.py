"""Export the ABC folk tunes shipped with music21 (Essen, O'Neill's, Ryan's, Aird's) to MIDI, one melody each.

Each tune becomes out_dir/<collection>/<ABC file stem>_<X: number>.mid with one track named "Melody"
at a fixed tempo (`tunes.tune_song` says how bars, pickups, repeats and keys are written), built in
parallel, skipped with a counted reason when it cannot be read, and cached: a second call with the
same music21 and the same settings returns at once.
"""

import contextlib
import hashlib
import json
import multiprocessing
import os
import time
from collections import Counter
from pathlib import Path

from ..core.files import write_text
from ..io import midi as midi_io
from .abc import notated_meters, parse_tune, split_tunes
from .tunes import Skip, tune_song

COLLECTIONS = {                  # output folder -> folder of music21's corpus
    "essen": "essenFolksong",
    "oneills": "oneills1850",
    "ryans": "ryansMammoth",
    "airds": "airdsAirs",
}
FORMAT = 1                       # bump when the written files change: an older build is then redone
MARKER = ".complete.json"        # written last; its presence with the same key means "already built"


def collection_paths(names=None):
    """{collection: [ABC paths, sorted]} of the named collections of music21's corpus (all by default)."""
    import music21

    unknown = sorted(set(names or ()) - set(COLLECTIONS))
    if unknown:
        raise ValueError(f"unknown folk collection {', '.join(unknown)} (known: {', '.join(COLLECTIONS)})")
    corpus = Path(music21.__file__).parent / "corpus"
    return {name: sorted((corpus / COLLECTIONS[name]).glob("*.abc")) for name in names or COLLECTIONS}


def export_tune(collection, name, text, out_dir):
    """Write one tune to out_dir/<collection>/<name>.mid; return (collection, name, skip reason or None, info)."""
    try:
        try:
            score = parse_tune(text)
        except Exception as e:  # noqa: BLE001 - music21's ABC reader raises many kinds on odd input
            raise Skip(f"parse error: {type(e).__name__}") from None
        song, info = tune_song(score)
        midi_io.write_song(song, Path(out_dir) / collection / f"{name}.mid")
        notated = notated_meters(text)
        info = {"meters": " ".join(notated), "repeats": info["repeats"],
                "irregular bars": sum(n for m, n in info["bar meters"].items() if m not in notated)}
    except Skip as e:
        return collection, name, str(e), None
    except Exception as e:  # noqa: BLE001 - one bad tune never stops the run
        return collection, name, f"error: {type(e).__name__}", None
    return collection, name, None, info


def _export_args(args):
    return export_tune(*args)


def _sources(collections_):
    """{collection: [ABC paths]} from None, names, or a mapping of names to paths (own ABC files)."""
    if isinstance(collections_, dict):
        return {name: sorted(Path(p) for p in paths) for name, paths in collections_.items()}
    return collection_paths(collections_)


def _build_key(sources, limit):
    """What the output depends on: the ABC bytes, music21's version, this exporter's format, `limit`."""
    import music21

    digest = hashlib.sha256()
    for name, paths in sorted(sources.items()):
        for path in paths:
            digest.update(f"{name}/{path.name}\0".encode())
            digest.update(path.read_bytes())
    return {"format": FORMAT, "music21": music21.__version__, "limit": limit, "sources": digest.hexdigest()}


def _files_digest(out_dir, names):
    """Hash of the names and sizes of the .mid files in the collection folders."""
    digest = hashlib.sha256()
    for name in sorted(names):
        for path in sorted((out_dir / name).glob("*.mid")):
            digest.update(f"{name}/{path.name} {path.stat().st_size}\n".encode())
    return digest.hexdigest()


def _cached_summary(out_dir, key, names):
    """The stored summary if out_dir holds a complete build with this key and its files, else None."""
    try:
        marker = json.loads((out_dir / MARKER).read_text())
    except (OSError, ValueError):
        return None
    if marker.get("key") != key or marker.get("files") != _files_digest(out_dir, names):
        return None
    return {**marker["summary"], "cached": True}


def _tunes(sources, limit):
    """[(collection, tune name, ABC text)] of the first `limit` tunes of each collection, in file order."""
    out = []
    for name, paths in sorted(sources.items()):
        tunes = [t for p in paths for t in split_tunes(p.read_text(encoding="utf-8", errors="replace"), p.stem)]
        out.extend((name, tune, text) for tune, text in tunes[:limit])
    return out


def _summary(results, names, seconds):
    """The summary dict of export_folk from the (collection, tune, reason, info) of every tune."""
    per = {name: {"tunes": 0, "written": 0, "repeats expanded": 0, "irregular bars": 0, "meters": Counter()}
           for name in sorted(names)}
    skipped, skipped_tunes = Counter(), {}
    for name, tune, reason, info in results:
        c = per[name]
        c["tunes"] += 1
        if reason is not None:
            skipped[reason] += 1
            skipped_tunes.setdefault(reason, []).append(f"{name}/{tune}")
            continue
        c["written"] += 1
        c["repeats expanded"] += info["repeats"] == "expanded"
        c["irregular bars"] += info["irregular bars"] > 0
        c["meters"][info["meters"] or "unnotated"] += 1
    meters = sum((c["meters"] for c in per.values()), Counter())
    for c in per.values():
        c["meters"] = dict(c["meters"].most_common())
    return {"written": sum(c["written"] for c in per.values()),
            "skipped": dict(sorted(skipped.items())),
            "seconds": round(seconds, 1),
            "collections": per,
            "meters": dict(meters.most_common()),
            "repeats expanded": sum(c["repeats expanded"] for c in per.values()),
            "irregular bars": sum(c["irregular bars"] for c in per.values()),
            "skipped tunes": {r: sorted(t) for r, t in sorted(skipped_tunes.items())},
            "cached": False}


def export_folk(out_dir, jobs=None, limit=None, progress=True, collections=None):
    """Export the folk tunes into out_dir/<collection>/ over `jobs` processes (all CPUs by default).

    `collections`: names from `COLLECTIONS` (all four by default), or {folder name: [ABC paths]}
    to export your own ABC files. `limit` keeps the first `limit` tunes of each collection.
    A finished build leaves out_dir/.complete.json; a second call with the same inputs (ABC bytes,
    music21 version, `FORMAT`, `limit`) and all its files in place returns that summary at once,
    with "cached": True. Otherwise every tune is exported again, and .mid files in the collection
    folders that this build did not write are removed.

    Returns {"written": n, "skipped": {reason: n}, "seconds": s, "collections": {name: {"tunes",
    "written", "repeats expanded", "irregular bars", "meters"}}, "meters": {"6/8": n, "2/4 3/4": n},
    "repeats expanded": n, "irregular bars": n, "skipped tunes": {reason: ["essen/han1_434", ...]},
    "cached": False}. "meters" counts the meters each tune's M: fields name, in order; "irregular
    bars" counts the tunes with a bar of another length, written with a signature of its own.
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    sources = _sources(collections)
    key = _build_key(sources, limit)
    cached = _cached_summary(out_dir, key, sources)
    if cached is not None:
        return cached
    (out_dir / MARKER).unlink(missing_ok=True)

    tasks = [(*tune, str(out_dir)) for tune in _tunes(sources, limit)]
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(tasks) or 1))
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(jobs) if jobs > 1 else contextlib.nullcontext() as pool:
        # Tunes, not files, are the tasks: one Essen file holds 720 tunes, and the bar counts tunes.
        results = pool.imap_unordered(_export_args, tasks, chunksize=8) if pool else map(_export_args, tasks)
        results = list(tqdm(results, total=len(tasks), desc="folk tunes", unit="tune", disable=not progress))

    for name in sources:
        keep = {f"{tune}.mid" for c, tune, reason, _ in results if c == name and reason is None}
        for path in (out_dir / name).glob("*.mid"):
            if path.name not in keep:
                path.unlink()
    summary = _summary(results, sources, time.perf_counter() - t0)
    out_dir.mkdir(parents=True, exist_ok=True)
    marker = {"key": key, "files": _files_digest(out_dir, sources), "summary": summary}
    write_text(out_dir / MARKER, json.dumps(marker, indent=1) + "\n")
    return summary
