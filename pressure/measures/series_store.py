"""Where the per-frame results of a session are kept while it is measured: in memory, or, when
they would take more than ``IN_MEMORY_BYTES`` (a day at 100 Hz takes gigabytes), in a scratch
HDF5 file beside the results, which the results writer then copies a block at a time
(``StoredSeries.blocks``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

IN_MEMORY_BYTES = 256 << 20


def series_shapes(n_regions: int) -> dict[str, tuple[tuple[int, ...], float]]:
    """Each per-frame variable: the shape of one frame's values, and its value where no foot is."""
    return {
        "force": ((2,), 0.0), "contact_area": ((2,), 0.0), "peak_pressure": ((2,), 0.0),
        "cop_x": ((2,), np.nan), "cop_y": ((2,), np.nan),
        "mat_force": ((), 0.0), "mat_cop_x": ((), np.nan), "mat_cop_y": ((), np.nan),
        "left_share": ((), np.nan), "region_force_series": ((2, n_regions), 0.0),
    }


class SeriesStore:
    """The per-frame results (``series_shapes``) of ``n_frames`` frames, written a block at a time."""

    def __init__(self, n_frames: int, n_regions: int, scratch_folder: Path | None = None):
        shapes = series_shapes(n_regions)
        per_frame = sum(8 * int(np.prod(shape)) for shape, _ in shapes.values())
        self.n_frames = n_frames
        self._file = None
        if scratch_folder is None or n_frames * per_frame <= IN_MEMORY_BYTES:
            self._arrays = {name: np.full((n_frames, *shape), fill) for name, (shape, fill) in shapes.items()}
            return
        import h5py

        handle = tempfile.NamedTemporaryFile(prefix=".pressure-series-", suffix=".h5", dir=scratch_folder)
        self._scratch = handle  # deleted when closed
        self._file = h5py.File(handle.name, "w")
        rows = max(1, (4 << 20) // per_frame)
        self._arrays = {name: self._file.create_dataset(name, (n_frames, *shape), np.float64, fillvalue=fill,
                                                        chunks=(min(rows, max(n_frames, 1)), *shape))
                        for name, (shape, fill) in shapes.items()}

    @property
    def in_memory(self) -> bool:
        return self._file is None

    def write(self, first: int, values: dict[str, np.ndarray]) -> None:
        for name, block in values.items():
            self._arrays[name][first:first + len(block)] = block

    def read(self, name: str) -> np.ndarray:
        """A variable whole, as a new array (in memory too: the caller may change it)."""
        return self._arrays[name][...].copy() if self.in_memory else self._arrays[name][...]

    def column(self, name: str, index: int) -> np.ndarray:
        """One foot's values of a (frames, foot) variable, as a new array."""
        return np.array(self._arrays[name][:, index])

    def variables(self) -> dict:
        """Each variable: a NumPy array, or (in a scratch file) a ``StoredSeries`` read when used."""
        if self.in_memory:
            return dict(self._arrays)
        return {name: StoredSeries(dataset) for name, dataset in self._arrays.items()}

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._scratch.close()
            self._file = None


class StoredSeries:
    """A per-frame variable in the scratch file, as NumPy-like as xarray needs (a duck array):
    read whole when used as an array, read a block of frames at a time by the results writer."""

    def __init__(self, dataset):
        self._dataset = dataset
        self.shape, self.dtype, self.ndim = dataset.shape, dataset.dtype, dataset.ndim

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype=None, copy=None):
        values = self._dataset[...]
        return values if dtype is None else values.astype(dtype)

    def __getitem__(self, key):
        plain = key if isinstance(key, tuple) else (key,)
        if all(isinstance(k, slice) and k.step in (None, 1) or isinstance(k, (int, np.integer)) for k in plain):
            return self._dataset[key]  # only the frames asked for are read
        return np.asarray(self)[key]

    def __array_function__(self, func, types, args, kwargs):
        return func(*_plain(args), **dict(zip(kwargs, _plain(kwargs.values()))))

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return getattr(ufunc, method)(*_plain(inputs), **kwargs)

    def blocks(self, block_bytes: int = 32 << 20):
        """(first frame, values), about ``block_bytes`` at a time."""
        rows = max(1, block_bytes // max(1, int(np.prod(self.shape[1:])) * self.dtype.itemsize))
        for first in range(0, self.shape[0], rows):
            yield first, self._dataset[first:first + rows]


def _plain(values) -> list:
    return [np.asarray(value) if isinstance(value, StoredSeries) else value for value in values]
