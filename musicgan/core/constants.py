"""The one home of fixed numbers and names: the tokens', the file limits, the strategies.

Counts that depend on the time signature (steps and beats per bar) belong to `meter.Meter`.
"""

MIN_PITCH = 48                # C3: lowest melody pitch the tokens can spell
MAX_PITCH = 84                # C6: highest
NUM_PITCHES = MAX_PITCH - MIN_PITCH + 1

REST = 0                      # melody token: nothing sounds
HOLD = 1                      # melody token: the previous note goes on
FIRST_PITCH_TOKEN = 2         # token of MIN_PITCH's onset; pitch p -> p - MIN_PITCH + 2
VOCAB_SIZE = FIRST_PITCH_TOKEN + NUM_PITCHES

PITCH_CLASSES = 12
CHORD_DIM = 2 * PITCH_CLASSES  # 12 pitch classes sounding + 12 root one-hot
METER_FEATURES = 4            # per slot: downbeat, beat start, strong-beat start, phase in the bar
CONDITION_DIM = CHORD_DIM + METER_FEATURES   # what the networks see per 8th-note slot
STEP_CONDITION_DIM = CONDITION_DIM + 1       # what the LSTM sees per 16th: its slot's, and its place in the slot
NO_CHORD = "N.C."
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")   # how pitch classes are spelled

# Files the pipeline refuses to read before parsing them (protects memory and time).
MAX_FILE_BYTES = 8 * 1024 * 1024
MIN_BPM, MAX_BPM = 20.0, 400.0
MAX_SONG_SECONDS = 60 * 60
MAX_METER_CHANGES = 1000      # time-signature events; pretty_midi's downbeats cost meter changes x beats
MAX_READ_SECONDS = 30         # one file's whole read (parse, melody, chords, phrases); ~3 ms for a chorale

# pretty_midi refuses to read a file whose last event lies past 10^7 ticks (its MAX_TICK, "likely
# corrupt"); the files written here have MIDI_RESOLUTION ticks a quarter note, so a song must end before.
MAX_MIDI_TICKS = 10_000_000
MIDI_RESOLUTION = 220         # pretty_midi's default

MIDI_SUFFIXES = (".mid", ".midi")
MELODY_TRACK = "Melody"       # the melody track's name in the files generate.py writes
MELODY_NAMES = ("melody", "soprano", "lead", "vocal", "voice", "melodie", "tune")
DEFAULT_BPM = 100.0

# the models that ship, each a folder models/STYLE (generator.h5, config.json, log, evaluation)
MODELS_DIR = "models"
STYLES = ("chorales", "folk")
DEFAULT_STYLE = "folk"        # the closer to its corpus over typed one-chord-a-bar progressions, in 4/4 and 3/4 (README)
MIN_METER_SHARE = 0.02        # a model writes (and is judged in) the meters of at least this share of its phrases

# tf.distribute (musicgan.train.distribute; here so the command line needs no TensorFlow to list them)
STRATEGIES = ("auto", "default", "mirrored", "multiworker")
WORKER_TIMEOUT = 600          # seconds to wait for all workers to start
