"""The README's 30-second library example runs as written (only the Redis URL differs)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## 30 seconds with the library") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def test_readme_example_runs_as_written(redis_url, tmp_path):
    code = readme_example()
    assert 'URL = "redis://127.0.0.1:6379/0"' in code
    script = tmp_path / "example.py"
    script.write_text(code.replace("redis://127.0.0.1:6379/0", redis_url))
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    for order in (1, 2, 3):
        assert f"billed order {order} (delivery 1)" in result.stdout
    assert "length=4 lag=0 pending=0 delayed=1 dead=1" in result.stdout
    assert "cannot bill this order" in result.stdout
