"""Lead-sheet chord symbols: exact pitch classes, transposition round trips, every refusal's message."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from musicgan.harmony.symbols import NOTE_NAMES, ChordError, parse_symbol

# (spellings of one chord, root, canonical quality, pitch classes), hand-computed: C=0 ... B=11.
CHORDS = [
    ("C Cmaj CM", 0, "", {0, 4, 7}),
    ("Bb B♭", 10, "", {10, 2, 5}),
    ("Cb", 11, "", {11, 3, 6}),
    ("E#", 5, "", {5, 9, 0}),
    ("Fb", 4, "", {4, 8, 11}),
    ("Cm C- Cmin Cmi C−", 0, "m", {0, 3, 7}),
    ("F#m F♯m", 6, "m", {6, 9, 1}),
    ("B#m", 0, "m", {0, 3, 7}),
    ("C7 Cdom7", 0, "7", {0, 4, 7, 10}),
    ("Bb7 B♭7", 10, "7", {10, 2, 5, 8}),              # music21 reads Bb7 as B D# F# A
    ("D7", 2, "7", {2, 6, 9, 0}),
    ("Cm7 C-7 Cmin7 Cmi7", 0, "m7", {0, 3, 7, 10}),    # music21 reads C-7 as Cb7
    ("F#m7 F♯m7", 6, "m7", {6, 9, 1, 4}),
    ("Cmaj7 CM7 CΔ CΔ7 C∆7 C^ C^7 Cma7 CMaj7", 0, "maj7", {0, 4, 7, 11}),
    ("Ebmaj7", 3, "maj7", {3, 7, 10, 2}),
    ("C6", 0, "6", {0, 4, 7, 9}),
    ("Cm6 C-6", 0, "m6", {0, 3, 7, 9}),
    ("C69 C6/9 C6(9) C6add9", 0, "6/9", {0, 4, 7, 9, 2}),   # music21 reads C69 as C A D
    ("Ab6/9", 8, "6/9", {8, 0, 3, 5, 10}),
    ("Cm69 C-6/9 Cm6/9", 0, "m6/9", {0, 3, 7, 9, 2}),
    ("C9", 0, "9", {0, 4, 7, 10, 2}),
    ("C11", 0, "11", {0, 7, 10, 2, 5}),                # no 3rd
    ("C13", 0, "13", {0, 4, 7, 10, 2, 9}),             # 9th in, 11th out
    ("G13", 7, "13", {7, 11, 2, 5, 9, 4}),
    ("Cmaj9 CΔ9 CM9 C^9", 0, "maj9", {0, 4, 7, 11, 2}),
    ("Cmaj13", 0, "maj13", {0, 4, 7, 11, 2, 9}),
    ("Cm9 C-9", 0, "m9", {0, 3, 7, 10, 2}),
    ("Cm11", 0, "m11", {0, 3, 7, 10, 2, 5}),
    ("Bm11", 11, "m11", {11, 2, 6, 9, 1, 4}),
    ("Cm13", 0, "m13", {0, 3, 7, 10, 2, 5, 9}),
    ("Cmaj7#11 CΔ7♯11 C^7(#11)", 0, "maj7#11", {0, 4, 7, 11, 6}),
    ("Cadd9 C(add9) Cadd2", 0, "add9", {0, 4, 7, 2}),
    ("Cadd11", 0, "add11", {0, 4, 7, 5}),
    ("Cmadd9 Cm(add9)", 0, "madd9", {0, 3, 7, 2}),
    ("Csus Csus4", 0, "sus4", {0, 5, 7}),
    ("Csus2", 0, "sus2", {0, 2, 7}),
    ("Gsus2", 7, "sus2", {7, 9, 2}),
    ("C7sus4 C7sus", 0, "7sus4", {0, 5, 7, 10}),
    ("C9sus4 C9sus", 0, "9sus4", {0, 5, 7, 10, 2}),
    ("C7sus4b9", 0, "7sus4b9", {0, 5, 7, 10, 1}),
    ("Cdim C° Co", 0, "dim", {0, 3, 6}),
    ("Cdim7 C°7 Co7", 0, "dim7", {0, 3, 6, 9}),
    ("F#dim7", 6, "dim7", {6, 9, 0, 3}),
    ("Cm7b5 Cø Cø7 Ch Ch7 C-7b5 Cmi7(b5) Cm7♭5 Cm7-5", 0, "m7b5", {0, 3, 6, 10}),
    ("Dbø7", 1, "m7b5", {1, 4, 7, 11}),
    ("Caug C+", 0, "aug", {0, 4, 8}),
    ("C+7 C7#5 C7+ Caug7 C7+5", 0, "7#5", {0, 4, 8, 10}),
    ("C7b9 C7(b9) C7♭9 C7-9", 0, "7b9", {0, 4, 7, 10, 1}),
    ("C7#9 C7+9", 0, "7#9", {0, 4, 7, 10, 3}),
    ("C7#11", 0, "7#11", {0, 4, 7, 10, 6}),            # the 5th stays
    ("C7b13", 0, "7b13", {0, 4, 7, 10, 8}),
    ("C7b5", 0, "7b5", {0, 4, 6, 10}),                 # the 5th goes
    ("C7alt Calt", 0, "7alt", {0, 1, 3, 4, 6, 8, 10}),
    ("E7alt", 4, "7alt", {4, 5, 7, 8, 10, 0, 2}),
    ("C7b9#5 C7(#5,b9) C7(b9)(#5)", 0, "7#5b9", {0, 4, 8, 10, 1}),
    ("C13b9 C13(b9)", 0, "13b9", {0, 4, 7, 10, 1, 9}),
    ("C9#11", 0, "9#11", {0, 4, 7, 10, 2, 6}),
    ("C7(#9,b13)", 0, "7#9b13", {0, 4, 7, 10, 3, 8}),
    ("C7#9b9 C7(b9,#9)", 0, "7b9#9", {0, 4, 7, 10, 1, 3}),
    ("Cm7b5b9 Cø7b9", 0, "m7b5b9", {0, 3, 6, 10, 1}),
    ("CmM7 Cm(maj7) C-Δ7 Cmmaj7 Cm^7 C-^ CmΔ", 0, "m(maj7)", {0, 3, 7, 11}),
    ("A-Δ7", 9, "m(maj7)", {9, 0, 4, 8}),
    ("C5", 0, "5", {0, 7}),
    ("Cb5", 11, "5", {11, 6}),                         # the root takes the flat: Cb power chord
    ("C(b5)", 0, "(b5)", {0, 4, 6}),
]
TABLE = [(s, root, q, pcs) for spellings, root, q, pcs in CHORDS for s in spellings.split()]


@pytest.mark.parametrize("symbol, root, quality, pcs", TABLE)
def test_symbol_table(symbol, root, quality, pcs):
    c = parse_symbol(symbol)
    assert (c.text, c.root, c.bass, c.quality, c.pitch_classes) == (symbol, root, root, quality, tuple(sorted(pcs)))
    again = parse_symbol(NOTE_NAMES[root] + quality)     # the canonical quality reads back the same
    assert (again.quality, again.pitch_classes) == (quality, c.pitch_classes)


def test_table_is_large():
    assert len(TABLE) >= 60


@pytest.mark.parametrize("symbol, root, bass, quality, pcs", [
    ("C/E", 0, 4, "", {0, 4, 7}), ("Bb/D", 10, 2, "", {10, 2, 5}),
    ("C/Bb", 0, 10, "", {0, 4, 7, 10}),                 # a foreign bass joins the chord
    ("Am7/G", 9, 7, "m7", {9, 0, 4, 7}), ("F/G", 5, 7, "", {5, 9, 0, 7}),
    ("C6/9/E", 0, 4, "6/9", {0, 4, 7, 9, 2}), ("Cm/E♭", 0, 3, "m", {0, 3, 7}),
    ("D7(b9)/F#", 2, 6, "7b9", {2, 6, 9, 0, 3}),
])
def test_slash_bass(symbol, root, bass, quality, pcs):
    c = parse_symbol(symbol)
    assert (c.root, c.bass, c.quality, c.pitch_classes) == (root, bass, quality, tuple(sorted(pcs)))


@pytest.mark.parametrize("symbol", ["N.C.", "NC", "N.C", "nc"])
def test_no_chord(symbol):
    c = parse_symbol(symbol)
    assert (c.text, c.root, c.bass, c.pitch_classes, c.quality) == (symbol, -1, -1, (), "N.C.")
    assert c.transposed(5) == c


@pytest.mark.parametrize("symbol", [s for s, *_ in TABLE] + ["C/E", "Am7/G", "C6/9/E", "Bb/D"])
def test_transposition_round_trip(symbol):
    c = parse_symbol(symbol)
    for k in (1, 5, 6, 11, -3):
        t = c.transposed(k)
        assert (t.root, t.bass, t.quality) == ((c.root + k) % 12, (c.bass + k) % 12, c.quality)
        assert t.pitch_classes == tuple(sorted((p + k) % 12 for p in c.pitch_classes))
        back = t.transposed(-k)
        assert (back.root, back.bass, back.quality, back.pitch_classes) == (c.root, c.bass, c.quality, c.pitch_classes)


@pytest.mark.parametrize("symbol, semitones, text", [
    ("Am7/G", 2, "Bm7/A"), ("Bb7", 2, "C7"), ("F♯m7(♭5)", 1, "Gm7(♭5)"), ("C-Δ7", 3, "Eb-Δ7"),
    ("C6/9/E", 7, "G6/9/B"), ("Cb5", 1, "C5"), ("C(b5)", 1, "C#(b5)"), ("B7alt", 1, "C7alt"),
    ("A#m", 0, "Bbm"), ("G7(b9,#5)", -2, "F7(b9,#5)"),
])
def test_transposed_respells_root_and_keeps_typed_quality(symbol, semitones, text):
    assert parse_symbol(symbol).transposed(semitones).text == text


@pytest.mark.parametrize("token, problem, suggestion", [
    ("H7", "a chord starts with a root A-G", None),
    ("7", "a chord starts with a root A-G", None),
    ("", "empty symbol", None),
    ("Cmj7", "unknown quality 'mj7'", "Cmaj7"),
    ("Cxyz", "unknown quality 'xyz'", None),
    ("C#b", "unknown quality 'b'", None),
    ("am7", "roots are upper case", "Am7"),
    ("C/H", "bad bass note 'H'", None),
    ("C7/", "bad bass note ''", None),
    ("C7(b9", "unknown quality '7(b9'", "C7(b9)"),
    ("Cmaj7b", "unknown quality 'maj7b'", "Cmaj7"),
    ("Cmaj7#12/E", "unknown quality 'maj7#12'", "Cmaj7#11/E"),
    ("Cm7b6", "unknown quality 'm7b6'", "Cm7b5"),
    ("C7b10", "unknown quality '7b10'", "C7b13"),
])
def test_refused_symbols_name_token_and_nearest_form(token, problem, suggestion):
    with pytest.raises(ChordError) as err:
        parse_symbol(token)
    msg = str(err.value)
    assert msg.startswith(f"bad chord '{token}': {problem}")
    if suggestion:
        assert f"did you mean '{suggestion}'?" in msg
        assert parse_symbol(suggestion)                   # what it offers is accepted
    else:
        assert "did you mean" not in msg
    assert "maj7" in msg and "N.C." in msg and "/bass" in msg   # the grammar, briefly
    assert isinstance(err.value, ValueError)


def test_symbol_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        parse_symbol("C").root = 2


def test_reads_symbols_without_music21_or_numpy():
    code = ("import sys, musicgan.harmony.symbols; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('music21', 'numpy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parents[1]).stdout
    assert out.strip() == "[]"
