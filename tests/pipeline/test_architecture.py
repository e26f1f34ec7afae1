"""The architecture, as import-linter checks it in CI (`make lint`): the layers, pure engines,
no import cycles. The contracts live in pyproject.toml; pipeline/README.md explains them."""

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("conditions", "qualify_site", "leads", "scoring", "routing", "pipeline", "insights")
# Top to bottom: each may import only the ones after it.
LAYERS = ("pipeline", "routing", "scoring", "leads", "qualify_site", "conditions")


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def _import_cycles(graph) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == index[module]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == module:
                        break
                if len(component) > 1:
                    cycles.append(component)
    return cycles


def test_the_import_contracts_hold():
    # The command CI runs, in its own process (in this one it would reconfigure the suite's logging).
    lint = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "0 broken" in lint.stdout


def test_no_module_imports_itself_through_a_cycle(graph):
    assert _import_cycles(graph) == []


def test_no_app_imports_a_layer_above_it(graph):
    assert graph.find_illegal_dependencies_for_layers(layers=LAYERS) == set()


def test_a_lower_app_importing_one_above_it_would_break_the_layers():
    # given the import this issue removed: processing a batch handed off to scoring from leads
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    graph.add_import(importer="leads.tasks", imported="scoring.tasks")

    # then the layers are broken, and the cycle counter sees a cycle once it closes
    assert graph.find_illegal_dependencies_for_layers(layers=LAYERS)
    graph.add_import(importer="scoring.tasks", imported="leads.tasks")
    assert _import_cycles(graph) == [{"leads.tasks", "scoring.tasks"}]
