"""Write songs over a chord progression with a trained model: `python generate.py --help`."""

import sys

from musicgan.cli import generate_main

if __name__ == "__main__":
    sys.exit(generate_main())
