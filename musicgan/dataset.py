"""Corpus -> cached phrase arrays -> tf.data: scan, read in parallel, skip and count bad files, cache.

The cache (`report.json` + `phrases.npz`) keeps one entry per file keyed by size and mtime, so a
second run reads no MIDI and a changed or added file is re-read alone.
"""

import collections
import json
import os
import time
import zlib
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from . import chords
from . import constants as C
from .config import Representation
from .files import atomic_path, write_text

ARRAYS = ("melody", "chords", "previous", "bar")
REPORT_KEYS = ("path", "status", "reason", "phrases")
MIN_FILES_PER_WORKER = 200   # spawning a worker costs ~1 s, ~300 files' reading (bench/prepare_speed.py)
TUNE_BARS = 3                # songs sharing a passage this long are one tune (2 bars: stock figures join most chorales)
MIN_SONGS_TO_HOLD_OUT = 20   # below this every song is needed for training
CACHE_VERSION = 2            # bump when reading or chord recognition changes


def scan(data_dir, exclude=()):
    """Every path under data_dir named *.mid / *.midi (any case), files or not, sorted."""
    data_dir = Path(data_dir)
    exclude = [Path(e).resolve() for e in exclude]
    found = []
    for root, dirs, files in os.walk(data_dir):
        if Path(root).resolve() in exclude:
            dirs[:] = []
            continue
        dirs.sort()
        for name in dirs + files:
            if name.lower().endswith(C.MIDI_SUFFIXES):
                found.append(Path(root) / name)
    return sorted(found)


def _key(path):
    try:
        st = path.stat()
        return f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        return "unreadable"


def read_file(path, rep):
    """(entry, arrays or None) for one file; never raises for a bad file."""
    from .encoding import song_phrases
    from .midi_io import MidiError, read_song

    entry = {"path": str(path), "status": "skipped", "reason": "", "phrases": 0}
    try:
        arrays = song_phrases(read_song(path), rep)
    except MidiError as e:
        entry["reason"] = str(e)
        return entry, None
    except Exception as e:  # noqa: BLE001 - a bug or a library surprise must not stop a corpus run
        entry["reason"] = f"unexpected error: {type(e).__name__}: {str(e)[:80]}"
        return entry, None
    entry.update(status="ok", phrases=len(arrays["melody"]))
    return entry, arrays


def _read_one(args):
    return read_file(*args)


@dataclass
class Corpus:
    """Untransposed phrases of a corpus: melody (P, steps), chords (P, beats), previous (P, 16),
    bar (P,), song (P,) index into `files`; `report` holds one entry per file."""
    melody: np.ndarray
    chords: np.ndarray
    previous: np.ndarray
    bar: np.ndarray
    song: np.ndarray
    files: list
    report: list
    seconds: float = 0.0
    reread: int = 0

    def augmented(self, transpose=True, sources=False):
        """(melody, chords, previous) in every key where the melody stays in range, or as is;
        with `sources`, also each row's phrase index into the untransposed arrays."""
        from .encoding import transpose as shift_tokens

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

    def held_out(self, fraction, by="tune"):
        """(P,) bool: phrases of the songs kept out of training. By "song", single songs; by "tune",
        whole tune families (`tune_families`), so that no tune is on both sides. A family is chosen by a
        hash of its first file name, so it stays on its side when files are moved or the corpus is
        re-read (a new file can join two families). Under MIN_SONGS_TO_HOLD_OUT songs, none is kept out."""
        if len(np.unique(self.song)) < MIN_SONGS_TO_HOLD_OUT:
            return np.zeros(len(self.song), bool)
        names = [Path(f).name for f in self.files]
        family = self.tune_families() if by == "tune" else np.arange(len(names))
        first = {}
        for i in sorted(range(len(names)), key=names.__getitem__):
            first.setdefault(family[i], names[i])
        held = np.array([zlib.crc32(first[f].encode()) % 10_000 < fraction * 10_000 for f in family], bool)
        return held[self.song]

    def tune_families(self):
        """(files,) int: one label per file, shared by the songs that hold the same TUNE_BARS-bar passage
        (>= 2 notes a bar) in some key: Bach's several settings of one hymn tune, a song and its cover."""
        from .metrics import busy_windows, window_hashes

        mel, _, _, source = self.augmented(sources=True)
        length = min(TUNE_BARS * C.STEPS_PER_BAR, mel.shape[1])
        busy = busy_windows(mel, length, 2)
        hashes = window_hashes(mel, length)[busy]
        songs = np.broadcast_to(self.song[source][:, None], busy.shape)[busy]
        order = np.lexsort((songs, hashes))
        hashes, songs = hashes[order], songs[order]
        link = (hashes[1:] == hashes[:-1]) & (songs[1:] != songs[:-1])    # one passage, two songs
        parent = np.arange(len(self.files))

        def root(i):
            while parent[i] != i:
                parent[i] = parent[parent[i]]      # path halving keeps the trees flat
                i = parent[i]
            return i

        for a, b in zip(songs[:-1][link], songs[1:][link]):
            ra, rb = root(a), root(b)
            parent[max(ra, rb)] = min(ra, rb)
        return np.array([root(i) for i in range(len(parent))])

    def subset(self, rows):
        """The corpus restricted to the phrases where `rows` (P,) bool is true."""
        return replace(self, **{k: getattr(self, k)[rows] for k in ARRAYS + ("song",)})

    def summary(self):
        counts = collections.Counter(e["reason"] for e in self.report if e["status"] == "skipped")
        qualities = collections.Counter(chords.quality_name(c) for c in self.chords.ravel().tolist())
        return {"files_found": len(self.report),
                "files_used": sum(e["status"] == "ok" for e in self.report),
                "skipped": dict(counts.most_common()),
                "phrases": len(self.melody),
                "chord_qualities": dict(qualities.most_common()),
                "files_reread": self.reread,
                "seconds": round(self.seconds, 3)}


def _load_cache(cache_dir, rep):
    try:
        meta = json.loads((cache_dir / "report.json").read_text())
        if meta.get("version") != CACHE_VERSION or meta.get("representation") != asdict(rep):
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


def _save_cache(cache_dir, rep, corpus, keys):
    files = [dict(e, key=k) for e, k in zip(corpus.report, keys)]
    with atomic_path(cache_dir / "phrases.npz") as tmp, open(tmp, "wb") as f:
        np.savez(f, **{k: getattr(corpus, k) for k in ARRAYS + ("song",)})
    write_text(cache_dir / "report.json", json.dumps(
        {"version": CACHE_VERSION, "representation": asdict(rep), "summary": corpus.summary(),
         "files": files}, indent=1))


def prepare(data_dir, cache_dir=None, rep=None, jobs=None, progress=True):
    """Read (or reuse from cache) every MIDI file under data_dir and return the `Corpus`."""
    t0 = time.perf_counter()
    rep = rep or Representation()
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data folder {data_dir} does not exist or is not a folder")
    cache_dir = Path(cache_dir) if cache_dir else data_dir / "cache"
    paths = scan(data_dir, exclude=[cache_dir])
    keys = [_key(p) for p in paths]
    cached = _load_cache(cache_dir, rep)

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
    empty = {"melody": np.zeros((0, rep.phrase_bars * C.STEPS_PER_BAR), np.uint8),
             "chords": np.zeros((0, rep.phrase_bars * C.BEATS_PER_BAR), np.int16),
             "previous": np.zeros((0, C.STEPS_PER_BAR), np.uint8), "bar": np.zeros(0, int)}
    arrays = {k: np.concatenate([empty[k]] + [b[k] for _, b in blocks]).astype(empty[k].dtype) for k in ARRAYS}
    song = np.concatenate([np.zeros(0, np.int32)] + [np.full(len(b["melody"]), i, np.int32) for i, b in blocks])
    corpus = Corpus(**arrays, song=song, files=[str(p) for p in paths], report=report, reread=len(todo))
    if todo or len(cached) != len(paths):
        try:
            _save_cache(cache_dir, rep, corpus, keys)
        except OSError as e:
            print(f"warning: cannot write the cache in {cache_dir} ({e.strerror or e}); pass --cache DIR")
    corpus.seconds = time.perf_counter() - t0
    return corpus


def _read_all(paths, rep, jobs, progress):
    from tqdm import tqdm

    jobs = jobs or os.cpu_count() or 1
    bar = tqdm(total=len(paths), desc="reading MIDI", unit="file", disable=not progress or not paths)
    try:
        if jobs == 1 or len(paths) < MIN_FILES_PER_WORKER * jobs:
            for p in paths:
                yield read_file(p, rep)
                bar.update()
        else:
            import multiprocessing
            # spawn, not fork: the parent may already hold TensorFlow's threads
            with multiprocessing.get_context("spawn").Pool(jobs) as pool:
                for result in pool.imap_unordered(_read_one, [(p, rep) for p in paths], chunksize=4):
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
    lines += [f"phrases          {summary['phrases']:>8}  (before transposition)",
              f"files re-read    {summary['files_reread']:>8}",
              f"seconds          {summary['seconds']:>8.2f}",
              "chord qualities  " + ", ".join(f"{q} {n}" for q, n in summary["chord_qualities"].items())]
    return "\n".join(lines)


def iterations_per_epoch(samples, batch_size, drop_remainder=False):
    """ceil(samples / batch_size), or floor when the last partial batch is dropped."""
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    return samples // batch_size if drop_remainder else -(-samples // batch_size)


def tf_dataset(melody, chord_ids, previous, batch_size, epoch=0, seed=0, shuffle=True,
               drop_remainder=False):
    """tf.data batches of (melody (B, steps) int32, chords (B, beats, 24) float32, previous (B, 16) int32).

    The order is a permutation drawn from (seed, epoch), so a resumed run sees the same batches.
    """
    import tensorflow as tf

    n = len(melody)
    order = np.random.default_rng([seed, epoch]).permutation(n) if shuffle else np.arange(n)
    tables = [tf.constant(melody.astype(np.int32)), tf.constant(chord_ids.astype(np.int32)),
              tf.constant(previous.astype(np.int32))]
    features = tf.constant(chords.FEATURES)

    def gather(idx):
        mel, ids, prev = (tf.gather(t, idx) for t in tables)
        return mel, tf.gather(features, ids), prev

    return (tf.data.Dataset.from_tensor_slices(order)
            .batch(batch_size, drop_remainder=drop_remainder)
            .map(gather, num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE))
