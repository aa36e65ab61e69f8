"""The recording behind a results file, read again (results hold one peak image for the whole
session; a step's own print, or an animation, needs the frames), in kPa as the analysis saw it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def processing_settings(attrs) -> tuple[dict, dict]:
    """(options, fallbacks) the results were made with, from the ``processing`` attribute."""
    try:
        made = json.loads(str(attrs.get("processing", "") or "{}"))
    except ValueError:
        return {}, {}
    return dict(made.get("options") or {}), dict(made.get("fallbacks") or {})


def load_recording(results, source=None):
    """The recording ``results`` were computed from: ``source`` (a Recording, URL or path), else
    the results' ``source_url`` read again with the pitch, rate and scale they were made with.
    Raises ValueError (one line, naming the source) when it cannot be read or does not match."""
    import drivers
    from drivers.recording import Recording

    if isinstance(source, Recording):
        recording, url = source, source.source_url or "the recording"
    else:
        url = str(source) if source is not None else str(results.attrs.get("source_url", "") or "")
        if not url:
            raise ValueError("the results do not name their recording (no source_url); give the recording")
        if url.startswith("serial:"):
            raise ValueError(f"{url}: a live mat cannot be read again; give the session file it was captured to")
        _, fallbacks = processing_settings(results.attrs)
        fallbacks = {k: str(v) for k, v in fallbacks.items() if v is not None and k != "calibration"}
        try:
            recording = drivers.load(url, fallbacks=fallbacks)
        except Exception as error:
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ValueError(message if url in message else f"{url}: {message}") from None
    n = results.sizes.get("time", 0)
    if recording.n_frames != n or tuple(recording.cells.shape[1:]) != tuple(results["peak_pressure_image"].shape):
        raise ValueError(f"{url}: {recording.n_frames} frames of {recording.cells.shape[1]} x "
                         f"{recording.cells.shape[2]} cells, but the results hold {n} frames of "
                         f"{results.sizes.get('y')} x {results.sizes.get('x')}; not the recording they were made from")
    return recording


def kpa_reader(results, recording):
    """A function of a frame slice giving those frames in kPa (float32), as the analysis saw them:
    the calibration table the results were made with, else the recording's linear scale."""
    options, fallbacks = processing_settings(results.attrs)
    table_path = options.get("calibration") or fallbacks.get("calibration")
    info = recording.info
    if table_path:
        from pressure.calibration import CalibrationTable

        table = CalibrationTable.from_csv(Path(table_path))
        return lambda index: table.apply(recording.cells[index])

    def linear(index):
        frames = recording.cells[index].astype(np.float32)
        if info.scale_kpa != 1.0:
            frames *= np.float32(info.scale_kpa)
        if info.offset_kpa != 0.0:
            frames += np.float32(info.offset_kpa)
        return frames

    return linear
