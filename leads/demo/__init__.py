"""The demo world: a deterministic B2B company universe (world.py, pure) and its loader (loader.py)."""
