"""The docs/ pages build without a warning, the README's links land, and the pages that describe
the code (configuration, layout) match it. The Python examples are run by tests/test_readme.py."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from markdown.extensions.toc import slugify

ROOT = Path(__file__).resolve().parents[1]
CODE_TREES = ("queues", "dashboard", "alerts")


def section(text: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    start = text.index(f"\n{heading}\n") + len(heading) + 2
    after = re.search(rf"^#{{1,{len(level)}}} ", text[start:], re.M)
    return text[start : start + after.start()] if after else text[start:]


def code_spans(text: str) -> list[str]:
    """Inline code outside fenced blocks."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.findall(r"`([^`\n]+)`", prose)


def anchors(markdown_text: str) -> set[str]:
    prose = re.sub(r"^```.*?^```", "", markdown_text, flags=re.S | re.M)
    return {slugify(h, "-") for h in re.findall(r"^#+ (.+)$", prose, re.M)}


def test_mkdocs_builds_strict_without_warnings(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml")]
        + ["-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output, output
    built = {p.parent.name for p in (tmp_path / "site").glob("*/index.html")}
    pages = {p.stem for p in (ROOT / "docs").glob("*.md")} - {"index"}
    assert pages and pages <= built, pages - built


def test_readme_links_land_on_a_file_and_heading():
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)\s]+)\)", readme)
    assert any(link.startswith("docs/") for link in links)
    for link in links:
        if re.match(r"[a-z]+://", link):
            continue
        path, _, anchor = link.partition("#")
        target = ROOT / path if path else ROOT / "README.md"
        assert target.exists(), f"README links to {link}: no such file"
        if anchor:
            assert anchor in anchors(target.read_text()), f"README links to {link}: no such heading"


def config_rows(text: str) -> list[str]:
    table = section(text, "## Configuration") if "\n## Configuration\n" in text else text
    return [line for line in table.splitlines() if line.startswith("| `")]


def test_readme_configuration_table_is_the_configuration_page_table():
    readme = config_rows((ROOT / "README.md").read_text())
    page = config_rows((ROOT / "docs" / "configuration.md").read_text())
    assert len(readme) > 20
    assert readme == page


def test_every_setting_the_code_reads_is_in_the_configuration_table():
    table = "\n".join(config_rows((ROOT / "docs" / "configuration.md").read_text()))
    named = set(re.findall(r"\bSTREAMWARDEN_[A-Z0-9_]*[A-Z0-9]\b", table))
    read = set()
    for tree in CODE_TREES:
        for path in (ROOT / tree).rglob("*.py"):
            read |= set(re.findall(r"\bSTREAMWARDEN_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    assert read, "no STREAMWARDEN_* setting found in the code"
    assert not read - named, f"settings missing from docs/configuration.md: {sorted(read - named)}"


# ------------------------------------------------------------------ the layout page

LAYOUT = ROOT / "docs" / "architecture.md"
PATH_SPAN = re.compile(r"(?:queues|dashboard|alerts|templates|static|tests|docs|\.ci)/[\w.*/-]*")


def layout_paths() -> list[str]:
    text = LAYOUT.read_text()
    spans = code_spans(section(text, "## Where to change what") + section(text, "## Packages"))
    return [s for s in spans if PATH_SPAN.fullmatch(s)]


def test_every_path_the_layout_page_names_exists():
    paths = layout_paths()
    assert len(paths) > 20
    for path in paths:
        if "*" in path:
            assert list(ROOT.glob(path)), f"docs/architecture.md names {path}: nothing matches"
        else:
            assert (ROOT / path).exists(), f"docs/architecture.md names {path}: no such path"


def test_every_package_is_on_the_layout_page():
    named = {p.rstrip("/") for p in layout_paths()}
    packages = {
        str(init.parent.relative_to(ROOT))
        for tree in CODE_TREES
        for init in (ROOT / tree).rglob("__init__.py")
    }
    assert {"queues", "queues/aio", "dashboard/monitor", "alerts/backends"} <= packages
    assert not packages - named, (
        f"packages missing from docs/architecture.md: {sorted(packages - named)}"
    )


def test_the_retry_rule_is_one_hop_from_the_layout_page():
    """The row about the retry rule names a function and the file that defines it; once the
    shared consumer core has ``decide_failure``, that is the function it must name."""
    table = section(LAYOUT.read_text(), "## Where to change what")
    row = next(line for line in table.splitlines() if "the retry rule" in line)
    target = row.rsplit("|", 2)[1]
    pairs = re.findall(r"`(\w+)` in `([\w/]+\.py)`", target)
    assert pairs, row
    for function, path in pairs:
        source = (ROOT / path).read_text()
        assert re.search(rf"^\s*def {function}\(", source, re.M), f"{path} defines no {function}"
    defined = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "queues").rglob("*.py")
        if re.search(r"^def decide_failure\(", path.read_text(), re.M)
    ]
    for path in defined:
        assert ("decide_failure", path) in pairs, f"the retry rule is decide_failure in {path}"


# ------------------------------------------------------------------ every page

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_every_file_a_page_names_exists():
    """A path in inline code (``queues/keys.py``, ``tests/scaleout/``) names something real."""
    for page in PAGES:
        for span in code_spans(page.read_text()):
            if PATH_SPAN.fullmatch(span) and "*" not in span:
                assert (ROOT / span).exists(), (
                    f"{page.relative_to(ROOT)} names {span}: no such path"
                )


def test_every_script_a_page_runs_exists():
    """``python -m tests.bench.monitor`` and the like name a module that is there."""
    for page in PAGES:
        for module in set(re.findall(r"python -m ((?:tests|queues)(?:\.\w+)*)", page.read_text())):
            path = ROOT / module.replace(".", "/")
            assert path.with_suffix(".py").exists() or (path / "__main__.py").exists(), (
                f"{page.relative_to(ROOT)} runs python -m {module}: no such module"
            )


def test_the_library_page_names_every_public_name():
    """docs/library.md's "API at a glance" lists every name of queues.__all__ and every public
    member of Producer, Consumer and Manager."""
    import queues

    text = section((ROOT / "docs" / "library.md").read_text(), "## API at a glance")
    named = {span.removesuffix("()") for span in code_spans(text)}
    missing = set(queues.__all__) - named
    for cls in (queues.Producer, queues.Consumer, queues.Manager):
        missing |= {
            f"{cls.__name__}.{name}"
            for name in dir(cls)
            if not name.startswith("_") and name not in named
        }
    assert not missing, f"missing from the API at a glance in docs/library.md: {sorted(missing)}"
