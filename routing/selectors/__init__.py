"""Reads for routing, one module a concern: policy (what the engine sees), visibility
(who sees which assignments and timelines), queue (the rep's queue)."""
