"""`python -m musicgan audition`: one page to listen to and compare a folder of generated songs."""

from pathlib import Path

from ..core.errors import UserError


def run(args):
    from ..io.audio import fallback_note
    from ..io.audition import build_page, render_missing

    if not Path(args.folder).is_dir():
        raise UserError(f"{args.folder} is not a folder")
    if args.render:
        written, methods, skipped = render_missing(args.folder, args.sample_rate)
        for note in sorted(filter(None, map(fallback_note, methods))):
            print(note)
        for name, reason in skipped:
            print(f"skipped {name}: {reason}")
        print(f"rendered {len(written)} files")
    print(f"wrote {build_page(args.folder)}")
    return 0


def add_parser(sub):
    p = sub.add_parser("audition", help="write FOLDER/index.html to listen to and compare generated songs",
                       description="Write FOLDER/index.html: for every *.mid in FOLDER (sorted) an audio "
                       "player for NAME.wav, the piano roll NAME.png, the metadata of NAME.json and a "
                       "download link. A static page with no external resources: open it in a browser "
                       "or serve the folder with `python -m http.server`.")
    p.add_argument("folder", help="folder of generated .mid files (e.g. out)")
    p.add_argument("--render", action="store_true",
                   help="first write the missing .wav (FluidSynth, else sine waves) and .png files")
    p.add_argument("--sample-rate", type=int, default=22050, help="sample rate of rendered .wav (default: 22050)")
    p.set_defaults(run=run)
