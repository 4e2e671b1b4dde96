"""A MIDI folder -> the `Corpus` of phrases: scan, read in parallel, skip and count bad files, use the cache."""

import collections
import contextlib
import hashlib
import os
import signal
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..core import constants as C
from ..core.config import Representation
from ..harmony import chords
from . import cache, split
from .cache import ARRAYS
from .phrases import transpose as shift_tokens
from .pipeline import one_chord_a_bar

REPORT_KEYS = ("path", "status", "reason", "phrases", "melody", "meters")
# Below this many files a worker, reading in this process is faster: 2 workers start in 0.015-0.08 s
# forked, the reading of 20-100 files, and in 0.19-0.5 s spawned (as under TensorFlow: they import
# musicgan), 250-635 files (bench/prepare_speed.py, 0.8 ms a file, on a loaded machine).
MIN_FILES_PER_WORKER = {"fork": 50, "spawn": 400}


def scan(data_dir, exclude=()):
    """Every path under data_dir named *.mid / *.midi (any case), files or not, sorted.

    The walk keeps its own stack (a corpus may be nested deeper than Python's recursion limit) and
    does not follow links to folders (a link to a parent would loop); a folder it cannot list is passed over.
    """
    exclude = {Path(e).resolve() for e in exclude}
    found, stack = [], [(Path(data_dir), Path(data_dir).resolve())]
    while stack:
        folder, real = stack.pop()             # real: its resolved path (no links followed below the root)
        if real in exclude:
            continue
        try:
            with os.scandir(folder) as entries:
                entries = list(entries)
        except OSError:
            continue
        for entry in entries:
            if entry.name.lower().endswith(C.MIDI_SUFFIXES):
                found.append(Path(entry.path))
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), real / entry.name))
            except OSError:
                pass
    return sorted(found)


def fingerprint(data_dir, files):
    """What identifies a corpus wherever it is copied: its files' paths under data_dir and sizes, hashed."""
    digest = hashlib.sha256()
    for f in files:
        try:
            size = os.stat(f).st_size
        except OSError:
            size = -1
        digest.update(f"{os.path.relpath(f, data_dir)}\0{size}\n".encode(errors="surrogateescape"))
    return {"path": str(Path(data_dir).resolve()), "files": len(files), "fingerprint": digest.hexdigest()[:16]}


def content_hashes(files):
    """{hash: path}: the first 16 hex digits of each file's SHA-256, so that a copy of a file is found
    under any name or folder. As prepare, it opens only regular files of at most MAX_FILE_BYTES (a FIFO
    would block, /dev/zero never end) and passes over one it cannot read: those are never training data."""
    import stat

    found = {}
    for f in files:
        try:
            info = os.stat(f)
            if not stat.S_ISREG(info.st_mode) or info.st_size > C.MAX_FILE_BYTES:
                continue
            with open(f, "rb") as handle:
                data = handle.read(C.MAX_FILE_BYTES + 1)
        except OSError:
            continue
        found.setdefault(hashlib.sha256(data).hexdigest()[:16], str(f))
    return found


def read_file(path, rep):
    """(entry, arrays or None) for one file; never raises for a bad file, and gives up on one that
    takes longer than MAX_READ_SECONDS (in the main thread of its process, where a timer can interrupt it)."""
    from ..io.midi import MidiError, read_song
    from .phrases import song_phrases

    entry = {"path": str(path), "status": "skipped", "reason": "", "phrases": 0, "melody": "", "meters": {}}
    try:
        with _time_limit(C.MAX_READ_SECONDS):
            arrays, info = song_phrases(read_song(path), rep)
    except MidiError as e:
        entry["reason"] = str(e)
        return entry, None
    except Exception as e:  # noqa: BLE001 - a bug or a library surprise must not stop a corpus run
        entry["reason"] = f"unexpected error: {type(e).__name__}: {str(e)[:80]}"
        return entry, None
    entry.update(status="ok", phrases=len(arrays["melody"]), **info)
    return entry, arrays


class _TooSlow(BaseException):
    """Not an Exception: the readers' own catch-alls must let it through."""


@contextlib.contextmanager
def _time_limit(seconds):
    """Raise `MidiError` in the block once it has run `seconds` (SIGALRM; no limit outside the main thread)."""
    from ..io.midi import MidiError

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise _TooSlow

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _TooSlow:
        raise MidiError(f"took longer than {seconds:g} s to read") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _read_one(args):
    return read_file(*args)


@dataclass
class Rows:
    """Training rows: melody (N, steps), chord ids (N, slots), previous (N, context steps), meter (N, 2),
    unit_id (N,); bar_chords (N, slots), the chords one a bar (`pipeline.one_chord_a_bar`), or None."""
    melody: np.ndarray
    chords: np.ndarray
    previous: np.ndarray
    meter: np.ndarray
    unit_id: np.ndarray
    bar_chords: np.ndarray = None


@dataclass
class Corpus:
    """Untransposed phrases of a corpus: melody (P, steps), chords (P, slots), previous (P, context steps),
    bar (P,), meter (P, 2) numerator and denominator, song (P,) index into `files`; `report` holds one
    entry per file."""
    melody: np.ndarray
    chords: np.ndarray
    previous: np.ndarray
    bar: np.ndarray
    meter: np.ndarray
    song: np.ndarray
    files: list
    report: list
    seconds: float = 0.0
    reread: int = 0

    def augmented(self, transpose=True, sources=False):
        """(melody, chords, previous) in every key where the melody stays in range, or as is;
        with `sources`, also each row's phrase index into the untransposed arrays."""
        index = np.arange(len(self.melody))
        if not transpose:
            return (self.melody, self.chords, self.previous) + ((index,) if sources else ())
        parts = []
        for k in range(-5, 7):
            mel, ok = shift_tokens(self.melody, k)
            prev, ok_prev = shift_tokens(self.previous, k)
            keep = ok & ok_prev
            parts.append((mel[keep], chords.transpose_ids(self.chords[keep], k), prev[keep], index[keep]))
        return tuple(np.concatenate(p) for p in zip(*parts))[:4 if sources else 3]

    def rows(self, transpose=True, unit="phrase", bar_chords=False):
        """The training `Rows`: every phrase in every key, each labelled with its privacy unit. A phrase's
        transpositions are one unit (the same music in another key); with unit "song", every phrase
        of a file is one unit. `bar_chords`: also each row's chords one a bar."""
        mel, ids, prev, source = self.augmented(transpose, sources=True)
        meter = self.meter[source]
        return Rows(mel, ids, prev, meter, self.song[source] if unit == "song" else source,
                    one_chord_a_bar(ids, meter) if bar_chords else None)

    def held_out(self, fraction, by="tune"):
        """(P,) bool: the phrases of the songs kept out of training (`split.held_out`)."""
        return split.held_out(self, fraction, by)

    def tune_families(self):
        return split.tune_families(self)

    def subset(self, rows):
        """The corpus restricted to the phrases where `rows` (P,) bool is true."""
        return replace(self, **{k: getattr(self, k)[rows] for k in ARRAYS + ("song",)})

    def meters(self):
        """{"4/4": phrases, ...}, most common first."""
        names, counts = np.unique([f"{n}/{d}" for n, d in self.meter.tolist()], return_counts=True)
        return {str(n): int(c) for c, n in sorted(zip(counts, names), reverse=True)}

    def summary(self):
        counts = collections.Counter(e["reason"] for e in self.report if e["status"] == "skipped")
        qualities = collections.Counter(chords.quality_name(c) for c in self.chords.ravel().tolist())
        return {"files_found": len(self.report),
                "files_used": sum(e["status"] == "ok" for e in self.report),
                "skipped": dict(counts.most_common()),
                "phrases": len(self.melody),
                "phrases_per_meter": self.meters(),
                "chord_qualities": dict(qualities.most_common()),
                "files_reread": self.reread,
                "seconds": round(self.seconds, 3)}


def prepare(data_dir, cache_dir=None, rep=None, jobs=None, progress=True):
    """Read (or reuse from cache) every MIDI file under data_dir and return the `Corpus`."""
    t0 = time.perf_counter()
    rep = rep or Representation()
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data folder {data_dir} does not exist or is not a folder")
    cache_dir = Path(cache_dir) if cache_dir else data_dir / "cache"
    paths = scan(data_dir, exclude=[cache_dir])
    keys = [cache.file_key(p) for p in paths]
    cached = cache.load(cache_dir, rep)

    results, todo = {}, []
    for p, k in zip(paths, keys):
        hit = cached.get(str(p))
        if hit and hit[0].get("key") == k and k != "unreadable":
            results[str(p)] = (hit[0], hit[1] if hit[0]["status"] == "ok" else None)
        else:
            todo.append(p)
    for entry, arrays in _read_all(todo, rep, jobs, progress):
        results[entry["path"]] = (entry, arrays)

    done = [results[str(p)] for p in paths]
    report = [{k: entry[k] for k in REPORT_KEYS} for entry, _ in done]
    blocks = [(i, arrays) for i, (_, arrays) in enumerate(done) if arrays is not None]
    empty = {"melody": np.zeros((0, rep.phrase_steps), np.uint8), "chords": np.zeros((0, rep.phrase_slots), np.int16),
             "previous": np.zeros((0, rep.context_steps), np.uint8), "bar": np.zeros(0, int),
             "meter": np.zeros((0, 2), np.int16)}
    arrays = {k: np.concatenate([empty[k]] + [b[k] for _, b in blocks]).astype(empty[k].dtype) for k in ARRAYS}
    song = np.concatenate([np.zeros(0, np.int32)] + [np.full(len(b["melody"]), i, np.int32) for i, b in blocks])
    corpus = Corpus(**arrays, song=song, files=[str(p) for p in paths], report=report, reread=len(todo))
    if todo or len(cached) != len(paths):
        try:
            cache.save(cache_dir, rep, corpus, keys)
        except OSError as e:
            print(f"warning: cannot write the cache in {cache_dir} ({e.strerror or e}); pass --cache DIR")
    corpus.seconds = time.perf_counter() - t0
    return corpus


def start_method():
    """How workers start: forked (cheap), unless this process holds TensorFlow, whose threads a fork does
    not copy (a forked child can hang on a lock one of them held): then spawned."""
    import multiprocessing
    import sys

    return "fork" if "tensorflow" not in sys.modules and "fork" in multiprocessing.get_all_start_methods() \
        else "spawn"


def _read_all(paths, rep, jobs, progress):
    import multiprocessing
    from contextlib import nullcontext

    from tqdm import tqdm

    jobs = jobs or os.cpu_count() or 1
    method = start_method()
    parallel = jobs > 1 and len(paths) >= MIN_FILES_PER_WORKER[method] * jobs
    # the pool first: a fork then copies no thread of tqdm's
    with multiprocessing.get_context(method).Pool(jobs) if parallel else nullcontext() as pool:
        bar = tqdm(total=len(paths), desc="reading MIDI", unit="file", disable=not progress or not paths)
        try:
            results = (pool.imap_unordered(_read_one, [(p, rep) for p in paths], chunksize=8) if parallel
                       else (read_file(p, rep) for p in paths))
            for result in results:
                yield result
                bar.update()
        finally:
            bar.close()


def format_summary(summary):
    """The end-of-run table a user reads."""
    lines = [f"files found      {summary['files_found']:>8}",
             f"files used       {summary['files_used']:>8}",
             f"files skipped    {summary['files_found'] - summary['files_used']:>8}"]
    lines += [f"  {n:>6}  {reason}" for reason, n in summary["skipped"].items()]
    lines += [f"phrases          {summary['phrases']:>8}  (before transposition)"]
    lines += [f"  {n:>6}  in {meter}" for meter, n in summary["phrases_per_meter"].items()]
    lines += [f"files re-read    {summary['files_reread']:>8}",
              f"seconds          {summary['seconds']:>8.2f}",
              "chord qualities  " + ", ".join(f"{q} {n}" for q, n in summary["chord_qualities"].items())]
    return "\n".join(lines)


