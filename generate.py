"""Write a song over a chord progression from a trained model: `python generate.py --help`."""

import argparse
import sys

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Generate a song over chords (not yet implemented).")
    parser.parse_args()
    print("generation is not implemented yet; it needs a trained model (train.py)")
    sys.exit(1)
