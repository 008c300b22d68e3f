"""The layout rules of docs/architecture.md, checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 60


def _modules(*folders: str) -> list[Path]:
    return sorted(
        path for folder in folders for path in (ROOT / folder).rglob("*.py") if "migrations" not in path.parts
    )


def _imported_names(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function, as dotted names."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", _modules("recognizer/services", "recognizer/selectors"), ids=str)
def test_services_and_selectors_never_import_tasks(path):
    assert "recognizer.tasks" not in _imported_names(path)


def test_only_dispatch_sends_tasks():
    importers = [p.relative_to(ROOT) for p in _modules("recognizer") if "recognizer.tasks" in _imported_names(p)]
    assert importers == [Path("recognizer/dispatch.py")]


@pytest.mark.parametrize("path", _modules("recognizer/retraining"), ids=str)
def test_the_retraining_pipeline_needs_no_orm(path):
    assert not {name for name in _imported_names(path) if name.startswith(("django", "recognizer.models"))}


@pytest.mark.parametrize("path", _modules("training"), ids=str)
def test_training_imports_no_django(path):
    assert not {name for name in _imported_names(path) if name.startswith(("django", "recognizer"))}


def test_no_module_reads_recognizer_settings_but_conf():
    readers = [p.relative_to(ROOT) for p in _modules("recognizer") if "RECOGNIZER[" in p.read_text()]
    assert readers == [Path("recognizer/conf.py")]


def test_functions_fit_in_a_reader_s_head():
    long = []
    for path in _modules("recognizer", "training"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, "\n".join(long)
