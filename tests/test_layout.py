"""The test tree's shape: suites hold tests, the harness lives in tests/support/, benchmarks
in tests/bench/, and pytest never collects either of the last two."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
APART = ("tests/bench/", "tests/support/")
#: What a suite directory may hold besides packages of tests and data directories.
SUITE_FILES = ("__init__.py", "conftest.py")


def test_the_whole_suite_collects_and_no_item_comes_from_bench_or_support() -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",  # every item, even those `make test` deselects
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    items = [line for line in run.stdout.splitlines() if "::" in line]
    assert len(items) > 500, run.stdout[-2000:]
    assert any(item.startswith("tests/scaleout/") for item in items)
    assert [item for item in items if item.startswith(APART)] == []


@pytest.mark.parametrize("directory", ["bench", "support"])
def test_pytest_itself_refuses_to_recurse_into_bench_and_support(
    directory: str, pytestconfig: pytest.Config
) -> None:
    """Asked the way collection asks it: a test file put there would never be collected."""
    assert pytestconfig.hook.pytest_ignore_collect(
        collection_path=TESTS / directory, config=pytestconfig
    )
    assert not pytestconfig.hook.pytest_ignore_collect(
        collection_path=TESTS / "queues", config=pytestconfig
    )


def test_suites_hold_only_tests_the_harness_lives_in_support() -> None:
    """A helper module next to the tests belongs in tests/support/ (shared by every suite)."""
    strays = [
        path.relative_to(ROOT).as_posix()
        for path in TESTS.rglob("*.py")
        if not path.is_relative_to(TESTS / "support")
        and not path.is_relative_to(TESTS / "bench")
        and not path.name.startswith("test_")
        and path.name not in SUITE_FILES
    ]
    assert strays == []


def test_every_benchmark_is_a_module_of_tests_bench() -> None:
    """`make bench` runs them as `python -m tests.bench.<name>`; each one it names exists."""
    makefile = (ROOT / "Makefile").read_text()
    named = sorted(
        {
            word.removeprefix("tests.bench.")
            for word in makefile.split()
            if word.startswith("tests.bench.")
        }
    )
    assert named, "the bench target names its benchmarks"
    assert [name for name in named if not (TESTS / "bench" / f"{name}.py").is_file()] == []
    assert not list(TESTS.glob("bench_*.py")), "benchmarks live in tests/bench/"
