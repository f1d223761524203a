"""Trend charts: PNGs of a fixed size whose bytes depend only on the counts."""

from __future__ import annotations

import struct
import subprocess
import sys

from jirga.charts import SPARK, sparkline_png

COUNTS = (0, 0, 1, 3, 2, 0, 0, 0, 4, 5, 2, 1, 6, 9)


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    out, i = [], 8
    while i < len(png):
        (n,) = struct.unpack(">I", png[i : i + 4])
        out.append((png[i + 4 : i + 8], png[i + 8 : i + 8 + n]))
        i += 12 + n
    return out


def test_a_chart_is_a_small_png_of_fixed_size_without_metadata() -> None:
    png = sparkline_png(COUNTS, 2.5)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    chunks = _chunks(png)
    kinds = [k for k, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    assert not {b"tEXt", b"iTXt", b"zTXt", b"tIME"} & set(kinds)  # no software name, no date
    width, height = struct.unpack(">II", chunks[0][1][:8])
    assert (width, height) == (SPARK.width * SPARK.scale, SPARK.height * SPARK.scale)
    assert len(png) < 4000


def test_same_counts_same_bytes_even_in_another_process() -> None:
    here = sparkline_png(COUNTS, 2.5)
    assert sparkline_png(COUNTS, 2.5) == here
    code = (
        "import sys; from jirga.charts import sparkline_png; "
        f"sys.stdout.buffer.write(sparkline_png({COUNTS!r}, 2.5))"
    )
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout
    assert there == here


def test_different_counts_draw_differently() -> None:
    base = sparkline_png(COUNTS, 2.5)
    assert sparkline_png((*COUNTS[:-1], 8), 2.5) != base
    assert sparkline_png(COUNTS, None) != base
    assert sparkline_png((0,) * 14) != sparkline_png((0,) * 13 + (1,))
    assert sparkline_png(()).startswith(b"\x89PNG")
