"""Measures of contacts once feet and regions are known, in the order they are taken:
selection.py (which steps count) -> regions.py (per region, per contact and per foot) ->
curves.py (time-normalised step curves)."""
