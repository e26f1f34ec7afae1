"""A deterministic B2B world for demos and benchmarks. Pure Python, no Django.

The vendor is "Pipewise", a data-workflow product with a marketing site and a
free trial. The world is a sequence of *units*: each unit is one company (an
account and its people) or one lone visitor (a student or someone on free
mail). Every unit is simulated from its own `random.Random` seeded by
`(seed, index)`, so the same seed gives the same messages, any unit can be
rebuilt alone, and a million events stream out without the world in memory.

Each account has a hidden *intent* (never sent). Intent drives behaviour:
visits, pricing-page views, demo requests, trial activation, active users,
plan limits. Outcomes (meeting, opportunity, closed won/lost) are then drawn
from the behaviour that actually happened, plus a little unobserved intent,
so calibration later has something true, and imperfect, to find: activated
accounts that hit plan limits convert far more; whitepaper-only readers
rarely; students never.

The parts: spec.py (the spec, vocabulary and records), simulation.py (one
unit's recorder and message building blocks), marketing.py (a person's
marketing journey), company.py (a company and its product trial),
outcomes.py (the CRM outcome draw) and visitor.py (lone visitors).
"""

import random
from collections.abc import Iterable, Iterator

from leads.demo.company import company_simulate
from leads.demo.simulation import Simulation
from leads.demo.spec import (
    MARKETING,
    MARKETING_EVENTS,
    PRODUCT,
    PRODUCT_EVENTS,
    DemoAccount,
    DemoOutcome,
    DemoPerson,
    Unit,
    WorldSpec,
)
from leads.demo.visitor import lone_visitor_simulate

# The public names stay importable from here, where callers always found them.
__all__ = [
    "MARKETING",
    "MARKETING_EVENTS",
    "PRODUCT",
    "PRODUCT_EVENTS",
    "DemoAccount",
    "DemoOutcome",
    "DemoPerson",
    "Unit",
    "WorldSpec",
    "message_batches",
    "unit_simulate",
    "world_units",
]


def world_units(spec: WorldSpec) -> Iterator[Unit]:
    """Every unit of the world, in order. Lone visitors are interleaved with
    companies (about one per two companies), so any prefix of the stream is a
    representative sample."""
    index = 0
    for account_number in range(spec.accounts):
        yield unit_simulate(spec, index, account_number=account_number)
        index += 1
        if account_number % 2 == 1:
            yield unit_simulate(spec, index, account_number=None)
            index += 1


def message_batches(units: Iterable[Unit], *, size: int = 500) -> Iterator[tuple[str, list[dict]]]:
    """(source kind, up to `size` messages) batches, as a client library would
    send them: one buffer per source, flushed when full and at the end."""
    buffers: dict[str, list[dict]] = {MARKETING: [], PRODUCT: []}
    for unit in units:
        for kind, message in unit.messages:
            buffer = buffers[kind]
            buffer.append(message)
            if len(buffer) >= size:
                yield kind, buffer
                buffers[kind] = buffer = []
    for kind, buffer in buffers.items():
        if buffer:
            yield kind, buffer


def unit_simulate(spec: WorldSpec, index: int, *, account_number: int | None) -> Unit:
    rng = random.Random(f"qualify-demo:{spec.seed}:{index}")
    simulation = Simulation(spec, rng, index)
    if account_number is None:
        return lone_visitor_simulate(simulation)
    return company_simulate(simulation, account_number)
