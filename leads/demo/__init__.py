"""The demo world: a deterministic B2B company universe (world.py and its parts, pure) and its loader (loader.py)."""
