"""Plantar pressure-mat pipeline: calibration, per-foot metrics, arch index, imbalance and steps."""

__version__ = "0.1.0"
