"""Every chart and sparkline says what it measures (issue 17: "every badge and bar has a
visible legend or tooltip"): the queue page's charts carry a visible legend whose swatches
match the lines drawn, in light and dark schemes; the overview's lag line has a tooltip with
its figures."""

from __future__ import annotations

import re

import pytest

from tests.dashboard.test_browser import (  # noqa: F401 (stack is the fixture)
    PASSWORD,
    Stack,
    stack,
)
from tests.support.queue_data import create_group, publish

pytestmark = pytest.mark.browser

# Per chart: each dataset's label, colour and dash (normalised by a 2d context, so
# "rgb(29, 78, 216)" and "#1d4ed8" compare equal), and the legend item of the same name.
CHART_AND_LEGEND = """
() => {
  const ctx = document.createElement("canvas").getContext("2d");
  const norm = (c) => { ctx.fillStyle = "#000"; ctx.fillStyle = c; return ctx.fillStyle; };
  return [...document.querySelectorAll(".charts canvas")].map((canvas) => {
    const chart = Chart.getChart(canvas);
    const legend = document.getElementById(canvas.getAttribute("aria-describedby"));
    return {
      id: canvas.id,
      canvasLegend: chart.options.plugins.legend.display !== false,
      series: chart.data.datasets.map((d) => {
        const item = legend && legend.querySelector('[data-series="' + d.label + '"]');
        const line = item && item.querySelector("line");
        const style = line && getComputedStyle(line);
        return {
          label: d.label,
          colour: norm(d.borderColor),
          dashed: (d.borderDash || []).length > 0,
          legendColour: style ? norm(style.stroke) : null,
          legendDashed: style ? style.strokeDasharray !== "none" : null,
          legendText: item ? item.textContent.trim() : null,
        };
      }),
    };
  });
}
"""


def _login(page, stack: Stack) -> None:  # noqa: F811
    page.goto(stack.url + "/login/")
    page.fill("input[name=username]", "ops")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(stack.url + "/")


def test_charts_have_legends_and_the_lag_line_a_tooltip(stack: Stack, tmp_path):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    from tests.support.live_stack import launch_chromium

    create_group(stack.redis_url, stack.queue, "billing", start="0")
    publish(stack.redis_url, stack.queue, [{"n": i} for i in range(7)])
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        _login(page, stack)

        # Overview: the lag line's tooltip says what it is and its current figure.
        row = page.locator('tr[data-queue="orders"]')
        expect(row.locator('[data-field="lag"]')).to_have_text("7", timeout=10_000)
        cell = row.locator('[data-field="sparkline-cell"]')
        expect(cell).to_have_attribute("title", re.compile(r"^Lag .*now 7\b"), timeout=10_000)
        svg = cell.locator("svg")
        assert svg.is_visible()
        assert re.match(r"^Lag .*now 7\b", svg.locator("title").text_content() or "")
        page.screenshot(path=str(tmp_path / "overview.png"))
        header = page.locator("#overview th", has_text="Lag, recent")
        assert header.is_visible()
        assert "lag" in (header.get_attribute("title") or "")

        colours: dict[str, list[str]] = {}
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.goto(stack.url + "/queues/orders/")
            page.wait_for_function(
                "window.Chart && [...document.querySelectorAll('.charts canvas')]"
                ".every(c => Chart.getChart(c))"
            )
            charts = page.evaluate(CHART_AND_LEGEND)
            assert [c["id"] for c in charts] == ["chart-depth", "chart-rates"]
            for chart in charts:
                legend = page.locator(f"#{chart['id']}").get_attribute("aria-describedby")
                assert page.locator(f"#{legend}").is_visible(), chart["id"]
                assert not chart["canvasLegend"], "one legend: the page's, not the canvas's"
                for s in chart["series"]:
                    item = page.locator(f'#{legend} [data-series="{s["label"]}"]')
                    assert item.is_visible(), (chart["id"], s["label"])
                    assert item.get_attribute("title"), s["label"]  # what it measures
                    assert s["legendColour"] == s["colour"], (scheme, s)
                    assert s["legendDashed"] == s["dashed"], (scheme, s)
                # the second series of each chart is dashed: lines differ by more than colour
                assert [s["dashed"] for s in chart["series"]][:2] == [False, True]
                assert len({s["colour"] for s in chart["series"]}) == len(chart["series"])
            assert page.locator("#legend-depth").inner_text().startswith("Entries (count)")
            assert page.locator("#legend-rates").inner_text().startswith("Rates (entries per")
            page.locator(".charts").screenshot(path=str(tmp_path / f"charts-{scheme}.png"))
            page.screenshot(path=str(tmp_path / f"queue-{scheme}.png"), full_page=True)
            colours[scheme] = [s["colour"] for c in charts for s in c["series"]]
        # the dark scheme draws with its own (lighter) colours, as its legend shows
        assert colours["light"] != colours["dark"]
        browser.close()
