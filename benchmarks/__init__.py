"""Throughput suite run by ``pressure bench``: each stage against a plain NumPy peer and the
machine's memory read bandwidth, measured in the same run."""
