"""Small trend pictures for the digest: one PNG bar chart of daily counts, the same bytes for the
same numbers.

Drawn with matplotlib's Agg renderer on a bare ``Figure`` (no pyplot state, no GUI backend, safe
in worker threads), at a fixed size and resolution, with no text (so no font can change the
output) and with the PNG's "Software" metadata removed, so a chart depends only on its counts and
a digest rendered twice is byte-identical.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["SPARK", "ChartStyle", "sparkline_png"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class ChartStyle:
    """Size and colours of a sparkline. ``width`` and ``height`` are CSS pixels; the image is
    drawn at ``scale`` times that, so it stays sharp on high-density screens."""

    width: int = 168
    height: int = 40
    scale: int = 2
    bar: str = "#9fb7cc"
    last_bar: str = "#1f4e79"
    average: str = "#c0504d"
    baseline: str = "#8a8a8a"


SPARK = ChartStyle()

# Only what a bar chart without text uses; fixed so that a user's matplotlibrc cannot change
# the bytes.
_RC: dict[Any, Any] = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.transparent": False,
    "path.simplify": False,
    "agg.path.chunksize": 0,
    "hatch.linewidth": 1.0,
}


def sparkline_png(
    counts: Sequence[int], average: float | None = None, style: ChartStyle = SPARK
) -> bytes:
    """A bar per day (oldest first, the last day darker) and, when given, a dashed line at the
    trailing average. All zeros draw an empty baseline."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    values = [max(int(n), 0) for n in counts]
    top = max([*values, average or 0, 1])
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(style.width / 100, style.height / 100), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_axis_off()
        n = max(len(values), 1)
        colours = [style.bar] * (len(values) - 1) + [style.last_bar] if values else []
        ax.bar(range(len(values)), values, width=0.78, color=colours, linewidth=0)
        ax.axhline(0, color=style.baseline, linewidth=1.0)
        if average is not None and average > 0:
            ax.axhline(average, color=style.average, linewidth=0.9, linestyle=(0, (3, 2)))
        ax.set_xlim(-0.6, n - 0.4)
        ax.set_ylim(-top * 0.04, top * 1.08)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100 * style.scale, metadata={"Software": None})
    data = buf.getvalue()
    assert data.startswith(PNG_SIGNATURE)
    return data
