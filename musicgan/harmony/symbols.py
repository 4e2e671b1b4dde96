"""Reads lead-sheet chord symbols (iReal Pro, MuseScore, Real Book spellings) into root, bass and pitch classes.

A symbol is a root, a quality, alterations and an optional slash bass: `Bb7`, `C-7`, `F#m7(b5)`,
`CΔ7#11`, `G7(b9,#5)`, `C6/9/E`, or `N.C.`. The grammar is the QUALITIES table (canonical quality ->
intervals), the ALIASES table (other spellings -> canonical), the ALTERATIONS table and a small
tokenizer. Read greedily, the root takes its accidental first: `Cb5` is a Cb power chord, and
C with a flat fifth is written `C(b5)`. A leading `-` means minor (music21 reads it as a flat).

Voicings are the usual jazz ones: an extension brings the ones below it unless they clash with
the 3rd. 9 = 1 3 5 b7 9; 11 = 1 5 b7 9 11 (no 3rd: it clashes with the 11th); 13 = 1 3 5 b7 9 13
(no 11th, for the same reason; maj13 likewise); m11 and m13 keep every tone below them (a minor
3rd does not clash with the 11th). 6/9 = 1 3 5 6 9. 7alt is the whole altered scale: 1 b9 #9 3
#11 b13 b7 (b5 and #5 are the same pitch classes as #11 and b13; no natural 5th or 9th).
"""

import difflib
import re
from dataclasses import dataclass

from ..core.constants import NO_CHORD, NOTE_NAMES
from ..core.errors import UserError

_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTALS = {"": 0, "b": -1, "#": 1}
_NO_CHORD_SPELLINGS = ("N.C.", "NC", "N.C", "N")

# Canonical quality -> semitones above the root.
QUALITIES = {
    "": (0, 4, 7), "m": (0, 3, 7), "5": (0, 7), "aug": (0, 4, 8), "dim": (0, 3, 6),
    "sus2": (0, 2, 7), "sus4": (0, 5, 7),
    "6": (0, 4, 7, 9), "m6": (0, 3, 7, 9), "6/9": (0, 4, 7, 9, 2), "m6/9": (0, 3, 7, 9, 2),
    "7": (0, 4, 7, 10), "9": (0, 4, 7, 10, 2), "11": (0, 7, 10, 2, 5), "13": (0, 4, 7, 10, 2, 9),
    "7sus4": (0, 5, 7, 10), "9sus4": (0, 5, 7, 10, 2), "13sus4": (0, 5, 7, 10, 2, 9),
    "7#5": (0, 4, 8, 10), "7alt": (0, 1, 3, 4, 6, 8, 10),
    "maj7": (0, 4, 7, 11), "maj9": (0, 4, 7, 11, 2), "maj13": (0, 4, 7, 11, 2, 9),
    "m7": (0, 3, 7, 10), "m9": (0, 3, 7, 10, 2), "m11": (0, 3, 7, 10, 2, 5),
    "m13": (0, 3, 7, 10, 2, 5, 9), "m(maj7)": (0, 3, 7, 11), "m(maj9)": (0, 3, 7, 11, 2),
    "m7b5": (0, 3, 6, 10), "dim7": (0, 3, 6, 9),
}

# Other whole spellings -> canonical. Minor (min mi -) and major-seventh (M7 ma7 Δ7 ^7 Δ ^)
# markers are rewritten by _REWRITES, so m9, -9, mi9, CΔ9 and C^9 need no row here.
ALIASES = {
    "maj": "", "M": "", "dom7": "7", "+": "aug", "o": "dim", "°": "dim", "º": "dim",
    "o7": "dim7", "°7": "dim7", "º7": "dim7", "ø": "m7b5", "ø7": "m7b5", "Ø": "m7b5",
    "Ø7": "m7b5", "h": "m7b5", "h7": "m7b5", "sus": "sus4", "7sus": "7sus4", "9sus": "9sus4",
    "13sus": "13sus4", "aug7": "7#5", "+7": "7#5", "7+": "7#5", "alt": "7alt", "6add9": "6/9",
}

# Alterations after a quality: (semitones removed, semitones added). b5/#5 replace the 5th;
# b9/#9, #11, b13 replace the natural 9th, 11th, 13th when the quality has one, else join it.
ALTERATIONS = {
    "b5": ((7,), (6,)), "#5": ((7,), (8,)), "b9": ((2,), (1,)), "#9": ((2,), (3,)),
    "#11": ((5,), (6,)), "b13": ((9,), (8,)), "add9": ((), (2,)), "add11": ((), (5,)),
    "add13": ((), (9,)),
}

# Applied in order to a quality before the tables are read: spellings that mean the same anywhere.
_REWRITES = tuple((re.compile(p), r) for p, r in (
    (r"\(([^()]*)\)", r"\1"),                    # C7(b9), Cm(maj7), C6(9); unbalanced ones stay and fail
    (r"[/,]", ""),                               # C6/9, C7(#9,b13)
    (r"^(?:min|mi|-)", "m"),                     # Cmin7, Cmi7, C-7
    (r"(?<=[0-9])-(?=5|9|13)", "b"),             # old Real Book signs after a number: C7-9, Cm7-5
    (r"(?<=[0-9])\+(?=5|9|11)", "#"),            # C7+9, C7+5 (a bare C7+ stays augmented)
    (r"[Δ^](?![0-9])", "maj7"),                  # a bare triangle is a major seventh: CΔ, C-^
    (r"(?:maj|Maj|ma|M|Δ|\^)(?=7|9|11|13)", "maj"),   # CM7, Cma7, CΔ7, C^9
    (r"add2", "add9"), (r"add4", "add11"),
))
_ALTERATION = "|".join(sorted(map(re.escape, ALTERATIONS), key=len, reverse=True))
# Look-alike characters typed for the ones the grammar reads: ♭ ♯, the increment sign, the minus sign.
_UNICODE = str.maketrans({"♭": "b", "♯": "#", "∆": "Δ", "−": "-"})


def _normalize(quality):
    """A quality as the tables spell it: 'mi7(♭5)' -> 'm7b5', '-Δ7' -> 'mmaj7', '6/9' -> '69'."""
    quality = quality.translate(_UNICODE)
    for pattern, replacement in _REWRITES:
        quality = pattern.sub(replacement, quality)
    return quality


_LOOKUP = {_normalize(s): q for s, q in (*((q, q) for q in QUALITIES), *ALIASES.items())}
_SYMBOL = re.compile(r"([A-Ga-g])([b#♭♯]?)(.*)", re.DOTALL)     # root letter, accidental, the rest
_NOTE = re.compile(r"[A-G][b#♭♯]?")

ACCEPTED = ("a root A-G (b # ♭ ♯), a quality such as m -, 7, maj7 Δ7 ^7, m7, 6, 6/9, 9, 11, 13, "
            "sus4, dim °, dim7, m7b5 ø, aug +, 7alt, m(maj7), add9, 5, then alterations b5 #5 b9 #9 "
            "#11 b13, in parentheses or not, and /bass; or N.C.")
# Spellings offered by "did you mean": the tables plus the common composed forms.
_SUGGESTIONS = tuple(q for q in (*QUALITIES, *ALIASES) if q) + (
    "min", "mi", "-", "-7", "min7", "mi7", "M7", "ma7", "Δ7", "^7", "Δ", "^", "mM7", "-Δ7", "mmaj7",
    "7b9", "7#9", "7#11", "7b13", "7b5", "7(b9)", "7(#9)", "maj7#11", "9#11", "13b9", "13#11",
    "7b9#5", "add9", "(add9)", "add11", "madd9", "69", "m69", "mi7(b5)", "-7b5")


class ChordError(UserError, ValueError):
    """A chord symbol that cannot be read; the message names it, the closest accepted form and the grammar."""


@dataclass(frozen=True)
class ChordSymbol:
    """One chord symbol as typed, with its root, sounding pitch classes (bass included), bass and quality."""
    text: str
    root: int                 # pitch class 0-11, -1 for N.C.
    pitch_classes: tuple      # sorted, distinct
    bass: int                 # = root without a slash, -1 for N.C.
    quality: str              # canonical: "", "m", "7", "m7b5", "7#5b9", "6/9", "m(maj7)", ...; N.C. for N.C.

    def transposed(self, semitones):
        """The symbol `semitones` higher, root and bass respelled, quality as typed ('Am7/G' + 2 -> 'Bm7/A')."""
        if self.root < 0:
            return self
        _, quality, _ = _split(self.text)
        name = lambda pc: NOTE_NAMES[(pc + semitones) % 12]
        bass = "" if self.bass == self.root else "/" + name(self.bass)
        return parse_symbol(name(self.root) + quality + bass)


def parse_symbol(token):
    """Read one symbol ('Bb7', 'C-7', 'F#m7(b5)/E', 'N.C.') into a `ChordSymbol`, or raise `ChordError`."""
    if token.upper() in _NO_CHORD_SPELLINGS:
        return ChordSymbol(token, -1, (), -1, NO_CHORD)
    root_text, typed, bass_text = _split(token)
    found = _quality(typed)
    if found is None:
        guess = difflib.get_close_matches(typed.translate(_UNICODE), _SUGGESTIONS, n=1, cutoff=0.6)
        slash = "/" + bass_text if bass_text else ""
        raise _error(token, f"unknown quality '{typed}'", root_text + guess[0] + slash if guess else None)
    quality, intervals = found
    root = _pitch_class(root_text)
    bass = _pitch_class(bass_text) if bass_text else root
    pcs = {(root + i) % 12 for i in intervals} | {bass}
    return ChordSymbol(token, root, tuple(sorted(pcs)), bass, quality)


def _split(token):
    """(root, quality, bass) texts of a symbol: 'Bb7(b9)/D' -> ('Bb', '7(b9)', 'D'); '6/9' is no bass."""
    if not token:
        raise _error(token, "empty symbol")
    m = _SYMBOL.fullmatch(token)
    if not m:
        raise _error(token, "a chord starts with a root A-G")
    if m.group(1).islower():    # lower case means minor on some charts and major on others
        fixed = token[0].upper() + token[1:]
        raise _error(token, "roots are upper case", fixed if _parses(fixed) else None)
    head, slash, tail = m.group(3).rpartition("/")
    if not slash or tail[:1].isdigit():
        return m.group(1) + m.group(2), m.group(3), ""
    if not _NOTE.fullmatch(tail):
        raise _error(token, f"bad bass note '{tail}' (a note A-G with b, #, ♭ or ♯)")
    return m.group(1) + m.group(2), head, tail


def _quality(typed):
    """(canonical quality, intervals) of a typed quality, or None: the whole spelling, else the
    longest known quality followed by alterations ('7b9#5' -> '7' + b9, #5 -> '7#5b9')."""
    text = _normalize(typed)
    for cut in range(len(text), -1, -1):
        base, rest = _LOOKUP.get(text[:cut]), text[cut:]
        if base is not None and re.fullmatch(f"(?:{_ALTERATION})*", rest):
            alterations = sorted(set(re.findall(_ALTERATION, rest)),
                                 key=lambda a: (a.startswith("add"), int(a.lstrip("b#ad")), a[0] == "#"))
            intervals = set(QUALITIES[base]) - {i for a in alterations for i in ALTERATIONS[a][0]}
            intervals |= {i for a in alterations for i in ALTERATIONS[a][1]}
            suffix = "".join(alterations)
            if not base and suffix[:1] in ("b", "#"):    # 'C' + 'b5' would read as Cb5
                suffix = f"({suffix})"
            return base + suffix, tuple(sorted(intervals))
    return None


def _pitch_class(note):
    note = note.translate(_UNICODE)
    return (_LETTERS[note[0]] + _ACCIDENTALS[note[1:]]) % 12


def _parses(token):
    try:
        parse_symbol(token)
        return True
    except ChordError:
        return False


def _error(token, problem, suggestion=None):
    hint = f", did you mean '{suggestion}'?" if suggestion else "."
    return ChordError(f"bad chord '{token}': {problem}{hint} Expected {ACCEPTED}")
