"""No function of a module that translates with `_` also binds `_` as a throwaway name
(`a, _ = ...`, `for _ in ...`): Python makes `_` local to the whole function, and every
`_("...")` in it fails with "'str' object is not callable" -- only on the path that
reaches it, which a test may never take. Comprehension variables are their own scope."""

from __future__ import annotations

import ast
from pathlib import Path

import ovnguard

SRC = Path(ovnguard.__file__).parent


def _binds_underscore(fn: ast.AST) -> list[int]:
    lines: list[int] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                                  ast.ClassDef, ast.ListComp, ast.SetComp, ast.DictComp,
                                  ast.GeneratorExp)):
                continue  # their own scope
            if isinstance(child, ast.Name) and child.id == "_" and \
                    isinstance(child.ctx, ast.Store):
                lines.append(child.lineno)
            visit(child)

    visit(fn)
    return lines


def test_no_function_shadows_the_translation_function() -> None:
    bad: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imports_gettext = any(
            isinstance(n, ast.ImportFrom) and n.module == "ovnguard.i18n"
            and any(a.name == "_" for a in n.names) for n in ast.walk(tree))
        if not imports_gettext:
            continue
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                bad += [f"{path.relative_to(SRC)}:{line} ({fn.name})"
                        for line in _binds_underscore(fn)]
    assert not bad, "`_` rebound where it translates: " + ", ".join(bad)
