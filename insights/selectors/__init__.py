"""Insights selectors: the reads (conversion, calibration, what precedes buying)."""
