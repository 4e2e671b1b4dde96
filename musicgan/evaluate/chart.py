"""The evaluation report as a picture: one small bar chart per metric."""

from ..core.files import atomic_path


def evaluation_png(report, png_path):
    """One small bar chart per metric of an evaluation report, the real row drawn as a line."""
    from matplotlib.figure import Figure

    from ..evaluate.report import COLUMNS, SHORT

    rows = report["rows"]
    names = list(rows)
    fig = Figure(figsize=(14, 9), dpi=90)
    for i, key in enumerate(COLUMNS):
        ax = fig.add_subplot(4, 4, i + 1)
        values = [rows[n][key] for n in names]
        ax.barh(range(len(names)), values, color=["tab:green" if n.startswith("real") else
                                                   "tab:blue" if n == "model" else "tab:gray" for n in names])
        ax.axvline(rows[names[0]][key], color="black", lw=0.8)
        ax.set_yticks(range(len(names)), names if i % 4 == 0 else [], fontsize=8)
        ax.invert_yaxis()
        ax.set_title(SHORT[key], fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle(f"{report['models']}: {report['held_out']}, {report['windows']} windows x {report['seeds']} seeds")
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, format="png")
