"""Insights models: what measuring rule versions against outcomes stores (backtests, suggestions)."""
