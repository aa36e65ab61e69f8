"""Options shared by frame files that carry no metadata of their own."""

from __future__ import annotations

from drivers.base import DriverError, MatInfo
from drivers.url import positive

GEOMETRY_OPTIONS = {
    "pitch": (positive(float), None),
    "rate": (positive(float), None),
}


def plain_info(path, options, rows: int, cols: int, dtype, device: str) -> MatInfo:
    missing = [name for name in ("pitch", "rate") if options[name] is None]
    if missing:
        raise DriverError(
            f"{path}: the file has no cell pitch or frame rate; give --pitch-mm and --rate-hz "
            f"(or ?pitch=&rate= in the URL)")
    return MatInfo(rows=rows, cols=cols, pitch_x_mm=options["pitch"], pitch_y_mm=options["pitch"],
                   rate_hz=options["rate"], device=device, dtype=dtype)
