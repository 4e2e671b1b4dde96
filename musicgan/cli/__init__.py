"""The command line: `python -m musicgan COMMAND`, `python train.py` and `python generate.py`.

One module per command, each thin: parse the flags, build a config, call one function of the library.
"""

import argparse

from .. import __version__
from . import audition, corpus, evaluate, prepare
from .common import run
from .generate import build_generate_parser, generate_main
from .train import build_train_parser, train_config, train_main

__all__ = [
    "build_generate_parser",
    "build_parser",
    "build_train_parser",
    "generate_main",
    "main",
    "train_config",
    "train_main",
]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m musicgan",
        description="Learn melodies over chords from a MIDI corpus and write new songs.")
    parser.add_argument("--version", action="version", version=f"musicgan {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (prepare, corpus, audition, evaluate):
        command.add_parser(sub)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return run(args.run, args)
