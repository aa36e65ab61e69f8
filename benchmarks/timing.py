"""Repeat-and-median timing with the spread kept."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np


@dataclass
class Measurement:
    stage: str
    case: str
    value: float  # items per second (or seconds, for latencies)
    unit: str
    spread: float  # (max - min) / median of the repeats
    numpy_value: float | None = None  # the NumPy peer, same unit
    mb_per_s: float | None = None
    notes: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def speedup(self) -> float | None:
        if self.numpy_value in (None, 0) or self.unit == "s":
            return None
        return self.value / self.numpy_value

    def as_dict(self) -> dict:
        return {**asdict(self), "speedup": self.speedup}


def seconds(function: Callable[[], object], repeats: int, warmup: int = 1) -> np.ndarray:
    """Wall times of ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return np.array(times)


def rate(items: float, times: np.ndarray) -> tuple[float, float]:
    """Median items per second and the relative spread of the repeats."""
    rates = items / times
    median = float(np.median(rates))
    return median, float((rates.max() - rates.min()) / median)


def interleaved(functions: dict[str, Callable[[], object]], repeats: int, warmup: int = 1,
                settle: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """Wall times of ``repeats`` rounds in which every function runs once, the order rotated each round,
    so that a change in the machine's load touches every function alike; each function is called
    ``warmup`` times first. ``settle`` gives seconds to wait, untimed, after a function: OpenBLAS's
    threads spin for about 0.1 s after a product and would take a core from whatever runs next."""
    names = list(functions)
    settle = settle or {}
    for name in names:
        for _ in range(warmup):
            functions[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            functions[name]()
            times[name].append(time.perf_counter() - start)
            time.sleep(settle.get(name, 0.0))
    return {name: np.array(values) for name, values in times.items()}


def spread_of(values: np.ndarray) -> float:
    """(max - min) / median."""
    return float(np.ptp(values) / np.median(values))
