"""The app graph drawn from the code's own imports: every import runs downhill (an app imports
only apps of lower layers), there is no cycle between apps, and the classifier never imports
Django or the project. scripts/app_graph.py draws the same graph into docs/img/app_graph.svg."""

from __future__ import annotations

import ast
import importlib.util
import sys
from types import ModuleType

import pytest

from tests.paths import REPO


@pytest.fixture(scope="module")
def app_graph() -> ModuleType:
    spec = importlib.util.spec_from_file_location("app_graph", REPO / "scripts" / "app_graph.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["app_graph"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_no_app_imports_upward(app_graph):
    assert app_graph.upward_imports(app_graph.build()) == []


def test_no_cycle_between_apps(app_graph):
    assert app_graph.cycles(app_graph.build()) == []


def test_every_app_has_a_layer(app_graph):
    for app in app_graph.build().apps:
        app_graph.rank(app)  # raises for an app nobody placed


def test_the_check_sees_a_lazy_upward_import(app_graph, tmp_path):
    """The old `mlmodels.services` -> `cases.tasks` import, inside a function, is caught."""
    for app in ("mlmodels", "cases"):
        (tmp_path / "allreview" / app).mkdir(parents=True)
    (tmp_path / "classifier").mkdir()
    (tmp_path / "allreview" / "mlmodels" / "services.py").write_text(
        "def promote():\n    from allreview.cases.tasks import cases_classify_waiting\n"
    )
    (tmp_path / "allreview" / "cases" / "tasks.py").write_text(
        "from allreview.mlmodels import services\n"
    )
    graph = app_graph.build(tmp_path)
    assert app_graph.upward_imports(graph) == ["mlmodels -> cases (allreview.mlmodels.services)"]
    assert app_graph.cycles(graph) == [["cases", "mlmodels", "cases"]]


def test_the_drawing_is_well_formed_and_names_every_app(app_graph):
    graph = app_graph.build()
    svg = app_graph.svg(graph)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    for app in graph.apps:
        assert f">{app}</text>" in svg
    from xml.etree import ElementTree

    ElementTree.fromstring(svg)


def test_the_committed_picture_is_the_current_graph(app_graph):
    """docs/img/app_graph.svg is regenerated (python scripts/app_graph.py) when the graph moves."""
    committed = (REPO / "docs" / "img" / "app_graph.svg").read_text()
    assert committed == app_graph.svg(app_graph.build())


@pytest.mark.parametrize("package", ["classifier", "smear"])
def test_the_pure_packages_import_neither_django_nor_the_project(package):
    for path in (REPO / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in {"django", "allreview"}, f"{path}: {name}"
