// The overview table: one row per queue, updated in place from "queue.update" events.
"use strict";
(function () {
  const SW = window.StreamWarden;
  const history = {};

  // The line's own words (its tooltip and accessible name): what it measures and its
  // figures, so a flat line at 0 and a flat line at 50 000 read differently.
  function describe(values, watched) {
    const what = watched ? "Lag (entries not yet delivered)" : "Length (entries; no group is watched)";
    if (!values || !values.length) return what + ": no samples yet";
    return what + ", last " + values.length + " sample" + (values.length === 1 ? "" : "s") +
      ": now " + values[values.length - 1] + ", highest " + Math.max.apply(null, values) +
      ", lowest " + Math.min.apply(null, values);
  }

  function drawSparkline(svg, values, watched) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const text = describe(values, watched);
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    title.textContent = text;
    svg.appendChild(title);
    svg.setAttribute("aria-label", text);
    if (svg.parentNode) svg.parentNode.title = text;
    if (!values || values.length < 2) return;
    const max = Math.max.apply(null, values.concat([1]));
    const step = 120 / (values.length - 1);
    const points = values.map(function (v, i) {
      return (i * step).toFixed(1) + "," + (23 - (v / max) * 22).toFixed(1);
    }).join(" ");
    const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("points", points);
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", "currentColor");
    line.setAttribute("stroke-width", "1.5");
    svg.appendChild(line);
  }

  function setBadge(node, prefix, value) {
    if (!node) return;
    node.textContent = value;
    node.className = (prefix === "status" ? "status status-" : "trend trend-") + value;
  }

  function update(q) {
    const row = document.querySelector('tr[data-queue="' + CSS.escape(q.name) + '"]');
    if (!row) return;
    const error = row.querySelector('[data-field="error"]');
    if (error) { error.textContent = q.unreadable || ""; error.hidden = !q.unreadable; }
    setBadge(row.querySelector('[data-field="status"]'), "status", q.status);
    const reason = row.querySelector('[data-field="reason"]');
    if (reason) { reason.textContent = q.reason ? "— " + q.reason : ""; reason.hidden = !q.reason; }
    setBadge(row.querySelector('[data-field="trend"]'), "trend", q.trend);
    const storm = row.querySelector('[data-field="storm"]');
    if (storm) storm.hidden = !q.storm;
    SW.setField(row, "length", SW.fmtNumber(q.length));
    SW.setField(row, "lag", SW.fmtNumber(q.lag));
    SW.setField(row, "pending", SW.fmtNumber(q.pending));
    SW.setField(row, "consumers", q.active_consumers + "/" + q.consumers);
    SW.setField(row, "rate_in", SW.fmtNumber(q.rate_in, 1));
    SW.setField(row, "rate_out", SW.fmtNumber(q.rate_out, 1));
    SW.setField(row, "oldest_undelivered_ms", SW.fmtAge(q.oldest_undelivered_ms));
    SW.setField(row, "oldest_pending_ms", SW.fmtAge(q.oldest_pending_ms));
    SW.setField(row, "dead_letters", SW.fmtKnown(q.dead_letters));
    SW.setField(row, "drain_seconds", SW.fmtForecast(q.drain_seconds, "drained"));
    SW.setField(row, "breach_seconds", SW.fmtForecast(q.breach_seconds));
    const values = (history[q.name] = history[q.name] || []);
    values.push(q.lag === null ? q.length : q.lag);
    if (values.length > 30) values.shift();
    row.dataset.watched = q.lag === null ? "0" : "1";
    drawSparkline(row.querySelector('[data-field="sparkline"]'), values, q.lag !== null);
  }

  SW.on("queue.update", function (data) { (data.queues || []).forEach(update); });

  document.addEventListener("DOMContentLoaded", function () {
    SW.watch(Array.from(document.querySelectorAll("tr[data-queue]"), function (row) { return row.dataset.queue; }));
    const initial = JSON.parse(document.getElementById("sparklines").textContent || "{}");
    document.querySelectorAll("tr[data-queue]").forEach(function (row) {
      const name = row.dataset.queue;
      history[name] = (initial[name] || []).slice();
      drawSparkline(row.querySelector('[data-field="sparkline"]'), history[name], row.dataset.watched !== "0");
      ["oldest_undelivered_ms", "oldest_pending_ms"].forEach(function (field) {
        const cell = row.querySelector('[data-field="' + field + '"]');
        if (cell) cell.textContent = SW.fmtAge(cell.dataset.ms);
      });
      [["drain_seconds", "drained"], ["breach_seconds", "now"]].forEach(function (pair) {
        const cell = row.querySelector('[data-field="' + pair[0] + '"]');
        if (cell) cell.textContent = cell.dataset.seconds === "" ? "–" : SW.fmtForecast(Number(cell.dataset.seconds), pair[1]);
      });
    });
  });
})();
