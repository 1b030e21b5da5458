"""The library package is Django-free: only ``queues.contrib.django`` (the effectively-once
guard, an opt-in Django app) may import Django; the dashboard's catalogue lives in
``dashboard/catalog/``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import queues

PACKAGE = Path(queues.__file__).parent
CONTRIB_DJANGO = PACKAGE / "contrib" / "django"


def library_modules() -> list[str]:
    """Every module of the package but the Django contrib app and ``__main__`` (the CLI)."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.is_relative_to(CONTRIB_DJANGO) or path.name == "__main__.py":
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_library_module_imports_without_django() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {library_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "django = sorted(m for m in sys.modules if m.split('.')[0] == 'django')\n"
        "assert not django, django\n"
        "print(len([m for m in sys.modules if m.startswith('queues')]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 20  # the walk did import the library's modules


def test_no_library_source_outside_contrib_mentions_django_or_the_dashboard() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.is_relative_to(CONTRIB_DJANGO):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [
                f"{path.relative_to(PACKAGE)}: {name}"
                for name in names
                if name.split(".")[0] in {"django", "dashboard", "alerts", "channels"}
            ]
    assert offenders == []
    assert not (PACKAGE / "migrations").exists()
    assert not any((PACKAGE / name).exists() for name in ("models.py", "admin.py", "apps.py"))
