"""Insights services: the writes (outcomes recorded, backtests run, versions suggested)."""
