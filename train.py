"""Train the conditional GAN on a folder of MIDI files: `python train.py --help`."""

import sys

from musicgan.cli import train_main

if __name__ == "__main__":
    sys.exit(train_main())
