"""The Python examples of the README and of docs/ run as written (only the Redis URL differs).

Every ```python block runs in a fresh interpreter against a real, emptied redis-server. A block
that cannot run alone (a fragment of a Django project) says so just above its fence with
``<!-- example: not run (why) -->``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
URL = "redis://127.0.0.1:6379/0"
NOT_RUN = re.compile(r"<!-- example: not run \((?P<why>[^)]+)\) -->\n$")


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## 30 seconds with the library") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def run_example(code: str, redis_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "example.py"
    script.write_text(code.replace(URL, redis_url))
    return subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )


def test_readme_example_runs_as_written(redis_url, tmp_path):
    code = readme_example()
    assert f'URL = "{URL}"' in code
    result = run_example(code, redis_url, tmp_path)
    assert result.returncode == 0, result.stderr
    for order in (1, 2, 3):
        assert f"billed order {order} (delivery 1)" in result.stdout
    assert "length=4 lag=0 pending=0 delayed=1 dead=1" in result.stdout
    assert "cannot bill this order" in result.stdout


def python_blocks() -> list[tuple[str, str, str | None]]:
    """(where, code, why it is not run) of every python block in README.md and docs/*.md."""
    blocks = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text()
        for match in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
            line = text.count("\n", 0, match.start()) + 1
            skipped = NOT_RUN.search(text, 0, match.start())
            why = skipped["why"] if skipped and skipped.end() == match.start() else None
            blocks.append((f"{path.relative_to(ROOT)}:{line}", match[1], why))
    return blocks


# The README's 30-second example is checked with its output above.
EXAMPLES = [
    (where, code)
    for where, code, why in python_blocks()
    if why is None and code != readme_example()
]


def test_examples_are_found_and_skips_say_why():
    blocks = python_blocks()
    where = [w for w, _, _ in blocks]
    assert any(w.startswith("docs/library.md") for w in where), where
    assert len(EXAMPLES) >= 3, where
    for w, _code, why in blocks:
        assert why is None or len(why) > 10, w


@pytest.mark.parametrize(("where", "code"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_docs_example_runs_as_written(where, code, redis_url, tmp_path):
    assert f'URL = "{URL}"' in code, f"{where}: an example names its Redis as URL = {URL!r}"
    result = run_example(code, redis_url, tmp_path)
    assert result.returncode == 0, f"{where} failed:\n{result.stderr}"
