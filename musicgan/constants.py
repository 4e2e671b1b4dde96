"""The one home of fixed numbers and names: the representation's, the file limits, the strategies."""

STEPS_PER_BEAT = 4            # 16th-note grid
BEATS_PER_BAR = 4             # 4/4 only for now; other meters are skipped with that reason
STEPS_PER_BAR = STEPS_PER_BEAT * BEATS_PER_BAR
SUPPORTED_METERS = ((4, 4),)

MIN_PITCH = 48                # C3: lowest melody pitch the tokens can spell
MAX_PITCH = 84                # C6: highest
NUM_PITCHES = MAX_PITCH - MIN_PITCH + 1

REST = 0                      # melody token: nothing sounds
HOLD = 1                      # melody token: the previous note goes on
FIRST_PITCH_TOKEN = 2         # token of MIN_PITCH's onset; pitch p -> p - MIN_PITCH + 2
VOCAB_SIZE = FIRST_PITCH_TOKEN + NUM_PITCHES

PITCH_CLASSES = 12
CHORD_DIM = 2 * PITCH_CLASSES  # 12 pitch classes sounding + 12 root one-hot
NO_CHORD = "N.C."

# Files the pipeline refuses to read before parsing them (protects memory and time).
MAX_FILE_BYTES = 8 * 1024 * 1024
MIN_BPM, MAX_BPM = 20.0, 400.0
MAX_SONG_SECONDS = 60 * 60

MIDI_SUFFIXES = (".mid", ".midi")
MELODY_NAMES = ("melody", "soprano", "lead", "vocal", "voice", "melodie", "tune")
DEFAULT_BPM = 100.0

# tf.distribute (musicgan.distribute; here so the command line needs no TensorFlow to list them)
STRATEGIES = ("auto", "default", "mirrored", "multiworker")
WORKER_TIMEOUT = 600          # seconds to wait for all workers to start
