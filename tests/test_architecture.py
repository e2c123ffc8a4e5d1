"""The shape of generator/: folders by pipeline stage, no import cycles, no import from a lower
stage to a higher one, no private name of one module used by another (scripts/import_graph.py)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import import_graph as graph  # noqa: E402


@pytest.fixture(scope="module")
def edges():
    return graph.imports(graph.modules())


def test_every_module_has_a_stage():
    for name in graph.modules():
        graph.layer(name)   # raises for a module outside every stage


def test_no_import_cycles(edges):
    assert graph.cycles(edges) == []


def test_no_import_points_up_a_stage(edges):
    assert [f"{e.source} -> {e.target} (line {e.line})" for e in graph.upward(edges)] == []


def test_no_private_name_is_imported_from_another_module(edges):
    assert [f"{e.source} takes {e.names} from {e.target}" for e in graph.private(edges)] == []


def test_no_private_attribute_of_another_generator_module_is_used():
    """``from generator import notebook; notebook._RUN = ...`` is as private as an import of it."""
    found = []
    for name, path in graph.modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {}   # a name bound to a generator module -> that module
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("generator"):
                for alias in node.names:
                    if f"{node.module}.{alias.name}" in graph.modules():
                        aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("generator") and alias.asname:
                        aliases[alias.asname] = alias.name
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in aliases and node.attr.startswith("_") \
                    and not node.attr.startswith("__"):
                found.append(f"{name}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    assert found == []


def test_the_checks_can_fail(tmp_path, monkeypatch):
    """The graph reader sees a cycle, an upward import and a private import when there are some."""
    package = tmp_path / "generator"
    (package / "store").mkdir(parents=True)
    (package / "plan").mkdir()
    (package / "__init__.py").write_text("")
    (package / "store" / "__init__.py").write_text("")
    (package / "plan" / "__init__.py").write_text("")
    (package / "store" / "results.py").write_text("from generator.plan.model import _Run\n")
    (package / "plan" / "model.py").write_text("def f():\n    from generator.store.results import x\n")
    monkeypatch.setattr(graph, "PACKAGE", package)
    found = graph.imports(graph.modules())
    assert graph.cycles(found) == [["generator.plan.model", "generator.store.results"]]
    assert [(e.source, e.target) for e in graph.upward(found)] == [
        ("generator.store.results", "generator.plan.model")]
    assert [e.names for e in graph.private(found)] == [("_Run",)]
