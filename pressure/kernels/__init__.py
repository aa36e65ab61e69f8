"""Numba kernels: pure functions on NumPy arrays, no I/O, each with a NumPy twin in tests/naive.py."""

# Explicit fast-math flags without nnan/ninf, so NaN checks (masked cells, unloaded COP) keep working.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
