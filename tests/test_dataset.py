import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from musicgan.cli import main
from musicgan.core import constants as C
from musicgan.core.config import Representation
from musicgan.core.meter import FOUR_FOUR
from musicgan.data import cache, pipeline
from musicgan.data import corpus as dataset
from musicgan.harmony import chords

from .conftest import write_midi

ROOT = Path(__file__).resolve().parent.parent


def _raw_midi(track_events):
    """A format-0 MIDI file from raw track bytes (for files pretty_midi's writer cannot make)."""
    data = bytes(track_events) + b"\x00\xff\x2f\x00"
    return b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk" + len(data).to_bytes(4, "big") + data


def _bad_corpus(root):
    """One file of every kind the pipeline must skip, each mapped to words its reason contains."""
    good = write_midi(root / "good.mid")
    expect = {}

    def bad(name, content, reason):
        p = root / name
        p.write_bytes(content)
        expect[name] = reason

    full = good.read_bytes()
    bad("empty.mid", b"", "empty file")
    bad("text.MIDI", b"hello, I am not music\n" * 10, "not a MIDI file")
    bad("truncated.mid", full[: len(full) // 2], "corrupt or truncated")
    bad("corrupt.mid", full[:14] + b"MTrk\xff\xff\xff\xff" + os.urandom(64), "corrupt or truncated")
    bad("never_end.mid", _raw_midi([0x00, 0x90, 60, 100, 0x83, 0x60, 0x90, 64, 100]), "never end")
    bad("silent.mid", _raw_midi([0x00, 0xC0, 0x05]), "no notes")
    write_midi(root / "drums.mid", drums_only=True)
    expect["drums.mid"] = "drums only"
    write_midi(root / "long_bars.mid", meter=(17, 4))
    expect["long_bars.mid"] = "meter 17/4: a bar of 68 16ths is longer than the 64"
    write_midi(root / "fast.mid", bpm=3000)
    expect["fast.mid"] = "extreme tempo"
    write_midi(root / "short.mid", bars=2)
    expect["short.mid"] = "no 4 whole bars of 4/4"
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0, name="Melody")
    inst.notes = [pretty_midi.Note(90, p, i * 0.5, i * 0.5 + 0.5) for i, p in enumerate([0, 127] * 16)]
    pm.instruments.append(inst)
    pm.write(str(root / "extreme_pitch.mid"))
    expect["extreme_pitch.mid"] = "melody range too wide"
    (root / "folder.mid").mkdir()
    expect["folder.mid"] = "is a directory"
    (root / "dangling.mid").symlink_to(root / "nowhere.mid")
    expect["dangling.mid"] = "dangling"
    return good, expect


def test_every_bad_file_is_skipped_with_its_reason(tmp_path, monkeypatch):
    good, expect = _bad_corpus(tmp_path / "midi")
    write_midi(tmp_path / "midi" / "sub" / "locked.mid")
    real_open = os.open
    # CI runs as root, where chmod 000 still reads: refuse this one file the way the OS would
    monkeypatch.setattr(os, "open", lambda p, *a, **k: (_ for _ in ()).throw(PermissionError(13, "denied"))
                        if Path(p).name == "locked.mid" else real_open(p, *a, **k))
    expect["locked.mid"] = "permission denied"
    corpus = dataset.prepare(tmp_path / "midi", tmp_path / "cache", Representation(melody_chord_weight=0),
                             jobs=1, progress=False)
    by_name = {Path(e["path"]).name: e for e in corpus.report}
    assert set(by_name) == set(expect) | {"good.mid"}
    for name, reason in expect.items():
        assert by_name[name]["status"] == "skipped" and reason in by_name[name]["reason"], (name, by_name[name])
    assert {k: by_name["good.mid"][k] for k in ("path", "status", "reason", "phrases", "meters")} == \
        {"path": str(good), "status": "ok", "reason": "", "phrases": 3, "meters": {"4/4": 3}}
    assert by_name["good.mid"]["melody"].startswith("track 0 'Melody'")           # which track, and why
    report = json.loads((cache.entry_dir(tmp_path / "cache", Representation(melody_chord_weight=0))
                         / "report.json").read_text())
    assert len(report["files"]) == len(expect) + 1
    assert set(report["files"][0]) >= {"path", "status", "reason", "phrases"}
    summary = corpus.summary()
    assert summary["files_found"] == len(expect) + 1 and summary["files_used"] == 1
    assert sum(summary["skipped"].values()) == len(expect)
    assert summary["chord_qualities"] == {"maj": 72, "min": 24}          # per 8th-note slot
    assert summary["phrases_per_meter"] == {"4/4": 3}


def _deep_folder(root, depth):
    """root/d/d/.../d, `depth` folders deep (pathlib's mkdir(parents=True) recurses, so one at a time)."""
    path = root
    for _ in range(depth):
        path = path / "d"
        os.mkdir(path)
    return path


def _remove_deep(root, depth):
    path = root / "/".join(["d"] * depth)
    for f in path.iterdir():
        f.unlink()
    for _ in range(depth):               # shutil.rmtree recurses too
        os.rmdir(path)
        path = path.parent


def test_no_file_can_hang_prepare_or_fill_its_memory(tmp_path, monkeypatch):
    midi = tmp_path / "midi"
    good = write_midi(midi / "good.mid")
    os.mkfifo(midi / "fifo.mid")                                  # reading it would wait for a writer forever
    (midi / "zero.mid").symlink_to("/dev/zero")                   # ... or read zeros until memory runs out
    with open(midi / "sparse.mid", "wb") as f:                    # 2 GB that take no disk
        f.truncate(2 * 2**30)
    meters = b"\x01\xff\x58\x04\x04\x02\x18\x08" * 500_000      # pretty_midi's downbeats: quadratic in these
    (midi / "meters.mid").write_bytes(_raw_midi(list(meters) + [0x00, 0x90, 60, 100, 0x60, 0x80, 60, 64]))
    (midi / "slow.mid").write_bytes(good.read_bytes())
    deep = _deep_folder(midi, 1200)                                # past Python's recursion limit
    (deep / "deep.mid").write_bytes(good.read_bytes())
    from musicgan.io import midi as midi_io

    real_read = midi_io.read_song

    def read_song(path):
        if Path(path).name == "slow.mid":
            time.sleep(30)
        return real_read(path)

    monkeypatch.setattr(midi_io, "read_song", read_song)
    monkeypatch.setattr(C, "MAX_READ_SECONDS", 0.5)
    try:
        t0 = time.perf_counter()
        corpus = dataset.prepare(midi, tmp_path / "cache", jobs=1, progress=False)
        assert time.perf_counter() - t0 < 10
        reasons = {Path(e["path"]).name: e["reason"] for e in corpus.report}
        assert reasons == {"good.mid": "", "deep.mid": "", "fifo.mid": "not a regular file (a named pipe)",
                           "zero.mid": "not a regular file (a character device)",
                           "sparse.mid": "too large (2048.0 MB > 8 MB)",
                           "meters.mid": "too many time-signature changes (500000 > 1000)",
                           "slow.mid": "took longer than 0.5 s to read"}
    finally:
        _remove_deep(midi, 1200)


def test_parallel_read_matches_serial(tmp_path, monkeypatch):
    monkeypatch.setattr(dataset, "MIN_FILES_PER_WORKER", {"fork": 1, "spawn": 1})
    for i in range(9):
        write_midi(tmp_path / "midi" / f"s{i}.mid", bars=4 + i)
    serial = dataset.prepare(tmp_path / "midi", tmp_path / "c1", jobs=1, progress=False)
    parallel = dataset.prepare(tmp_path / "midi", tmp_path / "c2", jobs=2, progress=False)
    assert serial.report == parallel.report and parallel.reread == 9
    np.testing.assert_array_equal(serial.melody, parallel.melody)
    np.testing.assert_array_equal(serial.song, parallel.song)
    # without TensorFlow in the process (`musicgan prepare`) the workers are forked, with the same result
    script = ("import sys, json; from musicgan.data import corpus as c; c.MIN_FILES_PER_WORKER = {'fork': 1}; "
              "k = c.prepare(sys.argv[1], sys.argv[2], jobs=2, progress=False); "
              "print(json.dumps([c.start_method(), 'tensorflow' in sys.modules, k.report, k.melody.tolist()]))")
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "midi"), str(tmp_path / "c3")], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    method, has_tf, report, melody = json.loads(out)
    assert (method, has_tf) == ("fork", False)
    assert report == serial.report and melody == serial.melody.tolist()


def test_cache_reads_nothing_then_only_the_changed_file(tmp_path):
    midi = tmp_path / "midi"
    for i in range(3):
        write_midi(midi / f"s{i}.mid", bars=6)
    first = dataset.prepare(midi, jobs=1, progress=False)
    assert first.reread == 3 and (cache.entry_dir(midi / "cache", Representation()) / "phrases.npz").exists()
    again = dataset.prepare(midi, jobs=1, progress=False)
    assert again.reread == 0 and again.report == first.report
    np.testing.assert_array_equal(again.melody, first.melody)

    write_midi(midi / "s1.mid", bars=10)
    os.utime(midi / "s1.mid", ns=(time.time_ns(), time.time_ns() + 10**9))
    write_midi(midi / "new.mid", bars=4)
    changed = dataset.prepare(midi, jobs=1, progress=False)
    assert changed.reread == 2
    assert [e["phrases"] for e in changed.report] == [1, 2, 4, 2]   # new, s0, s1 (now 10 bars), s2

    other = dataset.prepare(midi, rep=Representation(phrase_steps=32, hop_bars=2), jobs=1, progress=False)
    assert other.reread == 4 and other.melody.shape[1] == 32     # another representation: no reuse
    assert dataset.prepare(midi, jobs=1, progress=False).reread == 0           # ... and the first one stays
    for k in range(cache.KEEP):                                  # the newest KEEP representations are kept
        dataset.prepare(midi, rep=Representation(hop_bars=k + 3), jobs=1, progress=False)
    kept = {d.name for d in (midi / "cache").iterdir()}
    assert len(kept) == cache.KEEP and cache.entry_dir(midi / "cache", Representation()).name not in kept


def test_a_cache_from_before_representation_folders_is_read_then_replaced(tmp_path):
    midi = tmp_path / "midi"
    for i in range(2):
        write_midi(midi / f"s{i}.mid", bars=6)
    dataset.prepare(midi, jobs=1, progress=False)
    new = cache.entry_dir(midi / "cache", Representation())
    for name in ("report.json", "phrases.npz"):                  # as the layout before wrote them
        (new / name).rename(midi / "cache" / name)
    new.rmdir()
    assert dataset.prepare(midi, jobs=1, progress=False).reread == 0
    write_midi(midi / "s2.mid", bars=6)
    assert dataset.prepare(midi, jobs=1, progress=False).reread == 1
    assert sorted(p.name for p in (midi / "cache").iterdir()) == [new.name]


def test_augmented_covers_keys_in_range(tmp_path):
    write_midi(tmp_path / "midi" / "a.mid")
    corpus = dataset.prepare(tmp_path / "midi", jobs=1, progress=False)
    mel, ids, prev = corpus.augmented()
    assert len(mel) == 11 * len(corpus.melody)      # +6 would lift the top G5 (79) past MAX_PITCH (84)
    assert mel.max() < C.VOCAB_SIZE and ids.max() < 157
    assert len({tuple(m) for m in mel}) == 11 and len(prev) == len(ids) == len(mel)


def test_tf_dataset_shapes_order_and_epochs():
    n = 10
    mel = np.tile(np.arange(n, dtype=np.uint8)[:, None], (1, 64))
    ids = np.ones((n, 32), np.int16)
    prev = np.zeros((n, 16), np.uint8)
    meters = np.tile([4, 4], (n, 1))
    meters[1] = (3, 4)
    batches = list(pipeline.tf_dataset(mel, ids, prev, meters, batch_size=4, epoch=0, seed=1))
    assert [b[0].shape[0] for b in batches] == [4, 4, 2]
    m, c, p = batches[0]
    assert (m.dtype.name, c.dtype.name, p.dtype.name) == ("int32", "float32", "int32")
    assert c.shape == (4, 32, C.CONDITION_DIM) and p.shape == (4, 16)
    row = {int(x): i for i, x in enumerate(m[:, 0])}
    if 1 in row:                                    # the 3/4 row's downbeats every 6 slots, 4/4's every 8
        assert np.flatnonzero(c[row[1], :, 24]).tolist() == [0, 6, 12, 18, 24, 30]
    other = next(i for x, i in row.items() if x != 1)
    assert np.flatnonzero(c[other, :, 24]).tolist() == [0, 8, 16, 24]
    order = lambda epoch: [int(x) for b in pipeline.tf_dataset(mel, ids, prev, meters, 4, epoch, 1) for x in b[0][:, 0]]
    assert sorted(order(0)) == list(range(n)) and order(0) == order(0) and order(0) != order(1)
    dropped = list(pipeline.tf_dataset(mel, ids, prev, meters, 4, drop_remainder=True))
    assert len(dropped) == pipeline.iterations_per_epoch(n, 4, drop_remainder=True) == 2


def test_meter_balance_draws_rare_meters_more_often_and_tiny_ones_no_more_than_the_floor():
    meters = np.array([(4, 4)] * 9000 + [(3, 4)] * 900 + [(5, 4)] * 100)   # 90%, 9%, 1% (under the 2% floor)
    share = lambda order: [float(np.mean((meters[order] == m).all(1))) for m in ((4, 4), (3, 4), (5, 4))]
    plain = pipeline.epoch_order(meters, epoch=3, seed=1)
    assert sorted(plain) == list(range(len(meters)))                      # 0: a permutation, as before
    even = pipeline.epoch_order(meters, epoch=3, seed=1, meter_balance=1.0)
    assert len(even) == len(meters) and (even == pipeline.epoch_order(meters, 3, 1, meter_balance=1.0)).all()
    four, three, five = share(even)
    assert abs(four - three) < 0.03                                       # the meters it writes: equally often
    assert abs(five - 100 / 200 * three) < 0.01                          # 5/4 counts as 200 rows: half of 3/4's
    half = share(pipeline.epoch_order(meters, 3, 1, meter_balance=0.5))
    assert 0.09 < half[1] < 0.3 and half[0] > half[1]                     # between the corpus and even
    assert not (pipeline.epoch_order(meters, 4, 1, meter_balance=1.0) == even).all()


def test_an_epoch_of_fewer_or_more_rows():
    meters = np.array([(4, 4)] * 900 + [(3, 4)] * 100)
    part = pipeline.epoch_order(meters, epoch=2, seed=1, size=250)
    assert len(part) == len(set(part.tolist())) == 250 and (part == pipeline.epoch_order(meters, 2, 1, size=250)).all()
    assert (part == pipeline.epoch_order(meters, 2, 1)[:250]).all()           # the start of the same shuffle
    assert sorted(pipeline.epoch_order(meters, 2, 1, size=5000)) == list(range(1000))    # at most a pass
    more = pipeline.epoch_order(meters, 2, 1, meter_balance=1.0, size=3000)     # with replacement: any number
    assert len(more) == 3000 and abs(np.mean((meters[more] == (3, 4)).all(1)) - 0.5) < 0.04
    assert [pipeline.epoch_length(1000, rows, b) for rows, b in ((None, 0), (250, 0), (5000, 0), (5000, 1))] == \
        [1000, 250, 1000, 5000]
    mel, ids, prev = np.zeros((1000, 64), np.int32), np.zeros((1000, 16), np.int32), np.zeros((1000, 16), np.int32)
    batches = list(pipeline.tf_dataset(mel, ids, prev, meters, 64, 2, 1, pad_remainder=True, size=250))
    assert len(batches) == pipeline.iterations_per_epoch(250, 64) == 4 and float(batches[-1][3].numpy().sum()) == 250 - 192


def test_chords_one_a_bar_and_an_epoch_trained_over_them():
    ids = np.array([[1, 1, 2, 2, 2, 3, 3, 3, 5, 6, 5, 6, 7, 7, 7, 7]] * 3)
    meters = np.array([(2, 4), (4, 4), (3, 4)])           # bars of 4, 8 and 6 8th-note slots
    assert pipeline.one_chord_a_bar(ids, meters).tolist() == [
        [1, 1, 1, 1, 3, 3, 3, 3, 5, 5, 5, 5, 7, 7, 7, 7],         # a tie goes to the earlier chord
        [2, 2, 2, 2, 2, 2, 2, 2, 7, 7, 7, 7, 7, 7, 7, 7],
        [2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 7, 7, 7, 7]]         # the phrase's last bar is cut short
    n = 400
    mel, prev = np.zeros((n, 32), np.int32), np.zeros((n, 16), np.int32)
    chord_ids = np.tile(ids[:1], (n, 1))
    meters = np.tile([(2, 4)], (n, 1))
    by_bar = pipeline.one_chord_a_bar(chord_ids, meters)
    features = lambda share, epoch: np.concatenate([b[1].numpy()[:, :, :24] for b in pipeline.tf_dataset(
        mel, chord_ids, prev, meters, 64, epoch, 1, bar_chords=share, bar_chord_ids=by_bar)])
    plain = features(0.0, 0)
    assert (plain == chords.FEATURES[chord_ids]).all()
    half = features(0.5, 0)
    barred = (half == chords.FEATURES[by_bar]).all((1, 2))
    assert ((half == chords.FEATURES[chord_ids]).all((1, 2)) | barred).all() and 0.4 < barred.mean() < 0.6
    assert (features(0.5, 0) == half).all() and not (features(0.5, 1) == half).all()     # drawn from (seed, epoch)


@pytest.mark.parametrize("n, b, drop, expected", [(10, 4, False, 3), (10, 4, True, 2), (8, 4, False, 2),
                                                  (3, 8, False, 1), (3, 8, True, 0), (60000, 256, False, 235)])
def test_iterations_per_epoch(n, b, drop, expected):
    assert pipeline.iterations_per_epoch(n, b, drop) == expected


def test_prepare_command_prints_table_and_errors_in_one_line(tmp_path, capsys):
    write_midi(tmp_path / "midi" / "a.mid")
    (tmp_path / "midi" / "b.mid").write_bytes(b"junk")
    assert main(["prepare", "--data", str(tmp_path / "midi"), "--quiet", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "files found" in out and "not a MIDI file (no MThd header)" in out and "phrases" in out
    assert main(["prepare", "--data", str(tmp_path / "missing"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: data folder") and err.count("\n") == 1


def _songs(n=24, phrases=2, seed=0):
    """A corpus of n songs made in code: random melodies with a note on every beat, in mid range."""
    rng = np.random.default_rng(seed)
    steps = 4 * FOUR_FOUR.steps_per_bar
    melody = np.full((n * phrases, steps), C.HOLD, np.uint8)
    melody[:, ::FOUR_FOUR.steps_per_beat] = C.FIRST_PITCH_TOKEN + rng.integers(10, 26, (n * phrases, steps // 4))
    return dataset.Corpus(melody=melody, chords=np.zeros((n * phrases, 32), np.int16),
                          previous=np.full((n * phrases, FOUR_FOUR.steps_per_bar), C.REST, np.uint8),
                          bar=np.zeros(n * phrases, int), meter=np.tile([4, 4], (n * phrases, 1)),
                          song=np.repeat(np.arange(n), phrases),
                          files=[f"dir/song{i:02d}.mid" for i in range(n)], report=[])


def test_a_tune_set_twice_in_other_keys_is_held_out_whole():
    corpus = _songs()
    corpus.melody[6] = np.where(corpus.melody[14] >= C.FIRST_PITCH_TOKEN, corpus.melody[14] + 2, C.HOLD)
    corpus.melody[20, :48] = corpus.melody[14, 16:]                # 3 bars of it, a 5th song's tune too
    family = corpus.tune_families()
    assert family[3] == family[7] == family[10] and len(set(family)) == 24 - 2
    for fraction in np.linspace(0.05, 0.95, 19):
        held = corpus.held_out(fraction)
        assert held[6] == held[14] == held[20] and held[6:8].all() == held[6]
    song_split = corpus.held_out(0.5, by="song")
    assert 8 <= song_split[::2].sum() <= 16 and not np.array_equal(song_split, corpus.held_out(0.5))
    # chosen by file names alone: the same after a move, with fewer than 20 songs none
    assert np.array_equal(dataset.replace(corpus, files=[f"other/{Path(f).name}" for f in corpus.files])
                          .held_out(0.5), corpus.held_out(0.5))
    assert not _songs(n=19).held_out(0.5).any()
