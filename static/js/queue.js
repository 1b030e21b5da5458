// The queue page: charts from the history API, tables rendered with textContent only,
// live refresh from "queue.update", and operator actions (confirm + CSRF + audit server-side).
"use strict";
(function () {
  const SW = window.StreamWarden;
  let config, snapshot, claimInfo = null, depthChart, ratesChart, range = "1h", lastRefresh = 0;

  function button(text, cls, onClick) {
    const b = SW.el("button", text, cls);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  // A name in a dialog, quoted and escaped: "a/b", " billing" and newlines stay visible and
  // cannot pass for the end of the sentence.
  function q(name) { return JSON.stringify(String(name)); }

  // An action: asked in the page (question: null = no question), then its result or the
  // API's error text in the page's result line. done(result) words a success.
  function act(question, url, body, done, label) {
    const asked = question ? SW.confirmInPage(question, label || "OK", "danger") : Promise.resolve(true);
    return asked.then(function (yes) {
      if (!yes) return null;
      return send(url, body, done);
    });
  }

  function send(url, body, done) {
    return SW.post(config.api + url, body)
      .then(function (data) {
        SW.notify(done ? done(data.result) : "Done.", true);
        refreshTables(true);
        return data;
      })
      .catch(function (err) { SW.notify("Failed: " + err.message, false); throw err; })
      .catch(function (err) { return err; });
  }

  function entries(n) { return n + (n === 1 ? " pending entry" : " pending entries"); }

  // Delete a consumer: asked without force first, so a consumer that owns pending entries
  // is refused and the refusal carries the count at that moment (never the page's stale
  // one); then its entries are handed to another consumer, or dropped only after the
  // queue's name is typed.
  function deleteConsumer(g, c) {
    SW.confirmInPage("Delete consumer " + q(c.name) + " of group " + q(g.name) + "?", "Delete", "danger").then(function (yes) {
      if (!yes) return;
      SW.post(config.api + "consumers/delete/", { group: g.name, consumer: c.name })
        .then(function () { SW.notify("Deleted consumer " + q(c.name) + " of group " + q(g.name) + ".", true); refreshTables(true); })
        .catch(function (err) {
          if (!err.data || err.data.pending === undefined) { SW.notify("Failed: " + err.message, false); return; }
          handOver(g, c, err.data.pending);
        });
    });
  }

  function handOver(g, c, pending) {
    const others = g.consumer_list.filter(function (o) { return o.name !== c.name; })
      .sort(function (a, b) { return (b.active ? 1 : 0) - (a.active ? 1 : 0); })
      .map(function (o) { return o.name; });
    SW.ask({
      title: "Consumer " + c.name + " holds " + entries(pending),
      text: [
        "Consumer " + q(c.name) + " of group " + q(g.name) + " owns " + entries(pending) + " right now.",
        "Hand them to another consumer: they stay pending and are redelivered, none is lost.",
        "Or drop them: they leave the group's pending list and are never redelivered. To drop them, type the queue name " + q(config.name) + ".",
      ],
      fields: [
        { name: "hand_to", label: "Hand to consumer", value: others[0] || c.name + "-handover", list: others },
        { name: "confirm", label: "Queue name (only to drop)", placeholder: config.name },
      ],
      buttons: [
        { label: "Hand over and delete", value: "hand" },
        { label: "Drop them and delete", value: "drop", cls: "danger" },
      ],
    }).then(function (answer) {
      if (!answer) return;
      const body = { group: g.name, consumer: c.name };
      if (answer.button === "hand") body.hand_to = answer.values.hand_to;
      else { body.force = true; body.confirm = answer.values.confirm; }
      send("consumers/delete/", body, function (owned) {
        const n = entries(owned);
        return answer.button === "hand"
          ? "Deleted consumer " + q(c.name) + ": handed " + n + " to " + q(body.hand_to) + "."
          : "Deleted consumer " + q(c.name) + ": dropped " + n + " from group " + q(g.name) + ".";
      });
    });
  }

  // ids: optional row ids (alert detail pages link to #pending-<id> / #dead-<id>).
  function fillRows(tbody, rows, ids) {
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    rows.forEach(function (cells, index) {
      const tr = document.createElement("tr");
      if (ids) tr.id = ids[index];
      cells.forEach(function (cell) {
        const td = document.createElement("td");
        if (cell instanceof Node) td.appendChild(cell); else td.textContent = cell === null || cell === undefined ? "–" : String(cell);
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
  }

  function badge(value, kind) {
    const node = SW.el("span", value, kind === "status" ? "status status-" + value : "trend trend-" + value);
    node.title = kind === "status" ? "Threshold status (lag, consumers)" : "Lag trend (consumption vs arrivals)";
    return node;
  }

  // The trend and its evidence: the lag's regression slope over the window it was judged on.
  function trendCell(g) {
    const cell = SW.el("span");
    cell.appendChild(badge(g.trend, "trend"));
    if (g.trend_slope !== null && g.trend_slope !== undefined && g.trend_window_s) {
      const slope = (g.trend_slope > 0 ? "+" : "") + SW.fmtNumber(g.trend_slope, 1);
      cell.appendChild(SW.el("span", " lag " + slope + "/s over " + Math.round(g.trend_window_s) + " s", "muted trend-evidence"));
    }
    return cell;
  }

  // A forecast with its stated confidence (± share), or "unstable" while rates swing.
  function forecastText(seconds, zero, g) {
    if (g.forecast_unstable && (seconds === null || seconds === undefined)) return "unstable";
    const text = SW.fmtForecast(seconds, zero);
    if (seconds && g.forecast_spread !== null && g.forecast_spread !== undefined) {
      const pct = g.forecast_spread * 100;
      return text + (pct < 1 ? " ±<1 %" : " ±" + Math.round(pct) + " %");
    }
    return text;
  }

  // Groups that exist in Redis but the definition does not watch: named, one click to watch.
  let unwatchedShown = null;
  function renderUnwatched(names) {
    const box = document.getElementById("unwatched-groups");
    if (!box || JSON.stringify(names) === unwatchedShown) return;
    unwatchedShown = JSON.stringify(names);
    while (box.firstChild) box.removeChild(box.firstChild);
    box.hidden = names.length === 0;
    if (!names.length) return;
    box.appendChild(document.createTextNode("Not watched (in Redis, outside this queue's groups list): "));
    names.forEach(function (name) {
      const item = SW.el("span", name, "unwatched");
      item.dataset.group = name;
      if (config.canOperate) {
        item.appendChild(document.createTextNode(" "));
        item.appendChild(button("Watch", "", function () {
          act(null, "groups/watch/", { group: name });
        }));
      }
      box.appendChild(item);
      box.appendChild(document.createTextNode(" "));
    });
  }

  function renderSnapshot(s) {
    snapshot = s;
    const summary = document.getElementById("summary");
    SW.setField(summary, "length", SW.fmtNumber(s.length));
    SW.setField(summary, "lag", SW.fmtNumber(s.lag));
    SW.setField(summary, "pending", SW.fmtNumber(s.pending));
    SW.setField(summary, "parked", SW.fmtKnown(s.parked));
    SW.setField(summary, "consumers", s.active_consumers + "/" + s.consumers);
    SW.setField(summary, "rate_in", SW.fmtNumber(s.rate_in, 1));
    SW.setField(summary, "rate_out", SW.fmtNumber(s.rate_out, 1));
    SW.setField(summary, "dead_letters", SW.fmtKnown(s.dead_letters));
    SW.setField(summary, "drain_seconds", forecastText(s.drain_seconds, "drained", s));
    SW.setField(summary, "breach_seconds", forecastText(s.breach_seconds, "now", s));
    SW.setField(summary, "claim_rate", SW.fmtNumber(s.claim_rate, 1));
    renderUnwatched(s.unwatched_groups || []);
    const omitted = document.getElementById("groups-omitted");
    if (omitted) {
      omitted.hidden = !s.groups_omitted;
      omitted.textContent = s.groups_omitted ? s.groups_omitted + " more groups are not shown (STREAMWARDEN_MAX_GROUPS)." : "";
    }
    const unreadable = document.getElementById("queue-unreadable");
    if (unreadable) { unreadable.textContent = s.unreadable || ""; unreadable.hidden = !s.unreadable; }
    const banner = document.getElementById("storm-banner");
    const storming = s.groups.filter(function (g) { return g.storm; }).map(function (g) { return g.name; });
    banner.hidden = storming.length === 0;
    banner.textContent = storming.length ? "Claim storm on group " + storming.join(", ") + ": messages keep being taken over." : "";
    const status = document.getElementById("queue-status");
    if (status) { status.textContent = s.status; status.className = "status status-" + s.status; }
    const reason = document.getElementById("queue-reason");
    if (reason) { reason.textContent = s.reason ? s.status + " — " + s.reason : ""; reason.hidden = !s.reason; }
    const trend = document.getElementById("queue-trend");
    if (trend) { trend.textContent = s.trend; trend.className = "trend trend-" + s.trend; }

    fillRows(document.querySelector("#groups tbody"), s.groups.map(function (g) {
      const actions = document.createElement("span");
      if (config.canOperate) {
        actions.appendChild(button("Set id", "", function () {
          SW.ask({
            title: "Set the last-delivered id",
            text: "Move group " + q(g.name) + " to an entry id: 0 (redeliver everything), $ (skip to the end) or an id like 1700000000000-0.",
            fields: [{ name: "id", label: "Entry id", value: "$" }],
            buttons: [{ label: "Set id", value: "set" }],
          }).then(function (answer) {
            if (answer) send("groups/set-id/", { group: g.name, id: answer.values.id }, function () {
              return "Group " + q(g.name) + " now starts after " + q(answer.values.id) + ".";
            });
          });
        }));
      }
      if (config.canDestroy) {
        actions.appendChild(button("Delete", "danger", function () {
          act("Delete group " + q(g.name) + " and its pending entries list?", "groups/delete/", { group: g.name }, function () { return "Deleted group " + q(g.name) + "."; }, "Delete");
        }));
      }
      let name = g.name;
      if (g.unreadable) {
        name = SW.el("span", g.name);
        name.appendChild(SW.el("div", g.unreadable, "error"));
      }
      const statusCell = SW.el("span");
      statusCell.appendChild(badge(g.status, "status"));
      if (g.reason) statusCell.appendChild(SW.el("span", " — " + g.reason, "reason"));
      return [name, statusCell, trendCell(g), SW.fmtNumber(g.lag), g.pending,
        g.active_consumers + "/" + g.consumers + (g.consumers_omitted ? " (" + g.consumers_omitted + " not listed)" : ""), SW.fmtNumber(g.rate_out, 1),
        forecastText(g.drain_seconds, "drained", g), forecastText(g.breach_seconds, "now", g),
        g.storm ? Object.assign(SW.el("span", SW.fmtNumber(g.claim_rate, 1) + " STORM", "status status-alert"), { title: "claim storm: messages keep being taken over" }) : SW.fmtNumber(g.claim_rate, 1),
        SW.fmtAge(g.oldest_undelivered_ms), SW.fmtAge(g.oldest_pending_ms), SW.fmtKnown(g.parked), SW.fmtKnown(g.duplicates),
        g.last_delivered_id, actions];
    }));

    const consumers = [];
    s.groups.forEach(function (g) {
      g.consumer_list.forEach(function (c) {
        const actions = document.createElement("span");
        if (config.canDestroy) {
          actions.appendChild(button("Delete", "danger", function () {
            deleteConsumer(g, c);
          }));
        }
        consumers.push([g.name, c.name, c.pending, SW.fmtAge(c.idle_ms), c.active ? "yes" : "no", actions]);
      });
    });
    fillRows(document.querySelector("#consumers tbody"), consumers);

    renderClaims(s);
    const risk = document.getElementById("trim-risk-banner");
    const r = s.trim_risk;
    risk.hidden = !r || r.level === "ok";
    risk.textContent = r && r.level !== "ok" ? "Trim-loss risk at MAXLEN " + r.maxlen + ": " + r.detail + "." : "";

    const select = document.getElementById("pending-group");
    const current = select.value;
    const names = s.groups.map(function (g) { return g.name; });
    if (Array.from(select.options).map(function (o) { return o.value; }).join("\n") !== names.join("\n")) {
      while (select.firstChild) select.removeChild(select.firstChild);
      names.forEach(function (n) { const o = SW.el("option", n); o.value = n; select.appendChild(o); });
      if (names.indexOf(current) >= 0) select.value = current;
    }
  }

  // Claims per group: live numbers from the snapshot, "most delivered" from the last detail.
  function renderClaims(s) {
    const top = {};
    ((claimInfo && claimInfo.groups) || []).forEach(function (g) { top[g.group] = g; });
    const suspectAt = claimInfo ? claimInfo.poison_deliveries : Infinity;
    fillRows(document.querySelector("#claims tbody"), s.groups.map(function (g) {
      const bouncing = document.createElement("span");
      (g.bouncing || []).forEach(function (b) {
        bouncing.appendChild(SW.el("div", b.message_id + " ×" + b.claims + " (" + b.owners.join(" → ") + ")" + (b.deliveries ? ", " + b.deliveries + " deliveries" : "")));
      });
      const delivered = document.createElement("span");
      ((top[g.name] && top[g.name].top_deliveries) || []).forEach(function (e) {
        delivered.appendChild(SW.el("div", e.id + ": " + e.deliveries + " deliveries, " + e.consumer + (e.deliveries >= suspectAt ? " — poison suspect" : ""), e.deliveries >= suspectAt ? "error" : ""));
      });
      return [g.name, g.claims, SW.fmtNumber(g.claim_rate, 1), g.storm ? Object.assign(SW.el("span", "STORM", "status status-alert"), { title: "claim storm: messages keep being taken over" }) : "no", bouncing, delivered, SW.fmtKnown(g.redeliveries)];
    }));
  }

  function refreshPending() {
    const group = document.getElementById("pending-group").value;
    const tbody = document.querySelector("#pending tbody");
    if (!group) { fillRows(tbody, []); return Promise.resolve(); }
    return fetch(config.api + "pending/?group=" + encodeURIComponent(group), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        const pending = data.pending || [];
        fillRows(tbody, pending.map(function (p) {
          return [p.id, p.consumer, SW.fmtAge(p.idle_ms), p.deliveries, SW.payloadView(p.payload, p.payload_hidden)];
        }), pending.map(function (p) { return "pending-" + p.id; }));
      });
  }

  // Dead letters, newest first, one page at a time: deadQuery is the page's cursor
  // ("" = newest, "before=<id>", "original=<original id>" from an alert's link).
  let deadQuery = "", deadTarget = null;

  function fmtTime(ms) { return ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "–"; }

  function failure(d) {
    const box = document.createElement("div");
    box.appendChild(SW.el("div", d.error || "–"));
    if (d.traceback) {
      const more = document.createElement("details");
      more.appendChild(SW.el("summary", "traceback"));
      more.appendChild(SW.el("pre", d.traceback, "traceback"));  // textContent: never markup
      box.appendChild(more);
    }
    return box;
  }

  function refreshDeadLetters() {
    return fetch(config.api + "dead-letters/" + (deadQuery ? "?" + deadQuery : ""), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        const rows = data.dead_letters || [];
        fillRows(document.querySelector("#dead-letters tbody"), rows.map(function (d) {
          // textContent: shown as text, never run; null: the user may not see payloads
          const pre = SW.payloadView(d.payload, d.payload_hidden);
          const actions = document.createElement("span");
          if (config.canOperate) actions.appendChild(button("Replay", "", function () { act("Replay dead letter " + q(d.id) + "?", "dead-letters/replay/", { ids: [d.id] }, function (n) { return "Replayed " + n + " dead letter(s)."; }, "Replay"); }));
          if (config.canDestroy) actions.appendChild(button("Delete", "danger", function () { act("Delete dead letter " + q(d.id) + "?", "dead-letters/delete/", { ids: [d.id] }, function (n) { return "Deleted " + n + " dead letter(s)."; }, "Delete"); }));
          const ids = SW.el("div", d.original_id || "–");
          ids.appendChild(SW.el("div", "dead " + d.id, "muted"));
          return [ids, fmtTime(d.failed_at_ms), d.group, d.consumer || "–", d.reason, failure(d), d.deliveries, pre, actions];
        }), rows.map(function (d) { return "dead-" + (d.original_id || d.id); }));
        const paging = document.getElementById("dead-paging");
        if (paging) {
          SW.setField(paging, "shown", rows.length);
          SW.setField(paging, "total", data.total === undefined ? "–" : data.total);
          document.getElementById("dead-newest").hidden = !data.newer;
          const older = document.getElementById("dead-older");
          older.hidden = !data.older;
          older.dataset.cursor = data.older || "";
          const missing = document.getElementById("dead-missing");
          missing.hidden = data.found !== false;
          missing.textContent = data.found === false ? "Dead letter " + deadTarget + " is not among the newest dead letters (replayed, deleted or older)." : "";
        }
        if (deadTarget && data.found) {
          const row = document.getElementById("dead-" + deadTarget);
          if (row) { row.classList.add("highlight"); row.scrollIntoView({ block: "center" }); }
          // found once: later refreshes keep this page without jumping back
          deadQuery = "at=" + encodeURIComponent(rows[0].id);
          deadTarget = null;
        }
      });
  }

  function locatePending(id) {
    const out = document.getElementById("pending-locate");
    fetch(config.api + "locate/?id=" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (d) {
        if (d.error) { out.textContent = "Entry " + id + ": " + d.error; out.hidden = false; return; }
        let text;
        if (d.pending && d.pending.length) {
          text = "Entry " + id + " is pending: " + d.pending.map(function (p) {
            return "group " + q(p.group) + ", owner " + q(p.consumer) + ", " + p.deliveries + " deliveries, idle " + SW.fmtAge(p.idle_ms);
          }).join("; ") + ".";
          const select = document.getElementById("pending-group");
          select.value = d.pending[0].group;
          refreshPending().then(function () {
            const row = document.getElementById("pending-" + id);
            if (row) { row.classList.add("highlight"); row.scrollIntoView({ block: "center" }); }
          });
        } else if (d.dead_letter) {
          text = "Entry " + id + " is not pending: it was dead-lettered (dead letter " + d.dead_letter + ", below).";
        } else if (d.in_stream) {
          text = "Entry " + id + " is not pending in any group: it was acknowledged (still in the stream).";
        } else {
          text = "Entry " + id + " is not pending and no longer in the stream: acknowledged and trimmed, or deleted.";
        }
        out.textContent = text;
        out.hidden = false;
        out.scrollIntoView({ block: "center" });
      }).catch(function () {});
  }

  function refreshTables(force) {
    const now = Date.now();
    if (!force && now - lastRefresh < 3000) return;
    lastRefresh = now;
    refreshPending().catch(function () {});
    if (!config.plain) refreshDeadLetters().catch(function () {});
    if (force) fetch(config.api, { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (d) { if (d.claims) claimInfo = d.claims; if (d.snapshot) renderSnapshot(d.snapshot); }).catch(function () {});
  }

  // Charts on a real time axis (x = epoch ms), one resolution per range (raw points for
  // 5m/1h, 1-minute points for 24h/7d, as the history API returns them), a window that
  // slides with the clock, and live points merged at the range's resolution.
  const DEPTH = ["length", "lag", "pending"], RATES = ["rate_in", "rate_out"];
  let spanMs = 3600000, minuteRange = false, rawStepMs = 10000;

  // Series look as their legend under the chart says (the figcaption: colour token and dash
  // pattern per series, with what it measures); the canvas draws no legend of its own.
  const DASHES = [[], [6, 3], [2, 2]];

  function token(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

  function chart(canvas, datasets, unit) {
    if (!window.Chart) return null;
    return new window.Chart(canvas, {
      type: "line",
      data: {
        datasets: datasets.map(function (label, i) {
          const colour = token("--series-" + (i + 1)) || undefined;
          return { label: label, data: [], pointRadius: 0, borderWidth: 2, tension: 0, borderColor: colour, backgroundColor: colour, borderDash: DASHES[i] };
        }),
      },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
        color: token("--muted") || undefined,
        scales: {
          x: { type: "linear", ticks: { maxTicksLimit: 8, color: token("--muted") || undefined, callback: function (value) { return label(value); } }, grid: { color: token("--line") || undefined } },
          y: { beginAtZero: true, title: { display: true, text: unit, color: token("--muted") || undefined }, ticks: { color: token("--muted") || undefined }, grid: { color: token("--line") || undefined } },
        },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: {
            title: function (items) { return items.length ? label(items[0].parsed.x) : ""; },
            label: function (item) { return item.dataset.label + ": " + SW.fmtNumber(item.parsed.y, unit === "entries" ? 0 : 1) + " " + unit; },
          } },
        },
      },
    });
  }

  function label(t) { const d = new Date(t); return minuteRange ? d.toLocaleString() : d.toLocaleTimeString(); }

  function each(fn) { [[depthChart, DEPTH], [ratesChart, RATES]].forEach(function (pair) { if (pair[0]) fn(pair[0], pair[1]); }); }

  // Keep the window [now - span, now]: the axis moves with the clock, old points leave.
  function slide() {
    const max = Date.now(), min = max - spanMs;
    each(function (c) {
      c.options.scales.x.min = min;
      c.options.scales.x.max = max;
      c.data.datasets.forEach(function (d) { while (d.data.length && d.data[0].x < min) d.data.shift(); });
      c.update("none");
    });
  }

  function loadHistory() {
    fetch(config.api + "history/?range=" + encodeURIComponent(range), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        const pts = data.points || [];
        spanMs = data.span_ms || spanMs;
        minuteRange = data.resolution === "1m";
        if (pts.length > 1) rawStepMs = Math.max(1000, pts[pts.length - 1].t - pts[pts.length - 2].t);
        each(function (c, keys) {
          keys.forEach(function (k, i) { c.data.datasets[i].data = pts.map(function (p) { return { x: p.t, y: p[k] }; }); });
        });
        slide();
      }).catch(function () {});
  }

  function appendPoint(s) {
    if (!s.at_ms) return;
    each(function (c, keys) {
      const first = c.data.datasets[0].data;
      const last = first.length ? first[first.length - 1].x : null;
      if (minuteRange) {
        const minute = Math.floor(s.at_ms / 60000) * 60000;
        if (last === minute) {
          // The current minute so far: gauges at their worst, rates as now (like a rollup).
          keys.forEach(function (k, i) {
            const point = c.data.datasets[i].data[c.data.datasets[i].data.length - 1];
            point.y = keys === RATES ? s[k] : Math.max(point.y === null ? -Infinity : point.y, s[k] === null ? -Infinity : s[k]);
            if (point.y === -Infinity) point.y = null;
          });
        } else if (last === null || minute > last) {
          keys.forEach(function (k, i) { c.data.datasets[i].data.push({ x: minute, y: s[k] }); });
        }
      } else if (last === null || s.at_ms - last >= rawStepMs) {
        keys.forEach(function (k, i) { c.data.datasets[i].data.push({ x: s.at_ms, y: s[k] }); });
      }
    });
    slide();
  }

  // This queue's audit entries ("<queue>" or "<queue>/…"), live, the newest 20.
  SW.on("audit.update", function (entry) {
    const table = document.getElementById("queue-audit");
    const target = String(entry.target || "");
    if (!table || !config || (target !== config.name && target.indexOf(config.name + "/") !== 0)) return;
    SW.prependAudit(table.tBodies[0], entry, false, 20);
  });

  SW.on("queue.update", function (data) {
    (data.queues || []).forEach(function (q) {
      if (q.name !== config.name) return;
      renderSnapshot(q);
      appendPoint(q);
      refreshTables(false);
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    config = JSON.parse(document.getElementById("page-config").textContent);
    SW.watch([config.name]);
    const detail = JSON.parse(document.getElementById("queue-detail").textContent);
    if (detail && detail.claims) claimInfo = detail.claims;
    if (detail && detail.snapshot) renderSnapshot(detail.snapshot);
    depthChart = chart(document.getElementById("chart-depth"), ["length", "lag", "pending"], "entries");
    ratesChart = chart(document.getElementById("chart-rates"), ["in/s", "out/s"], "entries/s");
    loadHistory();
    setInterval(slide, 5000);
    refreshTables(true);
    document.getElementById("pending-group").addEventListener("change", function () { refreshPending(); });
    document.querySelectorAll("#ranges button").forEach(function (b) {
      b.addEventListener("click", function () {
        range = b.dataset.range;
        document.querySelectorAll("#ranges button").forEach(function (o) { o.classList.toggle("active", o === b); });
        loadHistory();
      });
    });
    const create = document.getElementById("create-group");
    if (create) create.addEventListener("submit", function (e) {
      e.preventDefault();
      const group = create.elements.group.value;
      act(null, "groups/", { group: group, start: create.elements.start.value }, function () { return "Created group " + q(group) + "."; });
    });
    // An alert's link: #dead-<original id>; the row may be far from the newest page.
    function goToDeadLetter() {
      const hash = decodeURIComponent(location.hash || "");
      if (hash.indexOf("#dead-") !== 0) return false;
      deadTarget = hash.slice(6);
      deadQuery = "original=" + encodeURIComponent(deadTarget);
      return true;
    }
    goToDeadLetter();
    // An alert's link to a claimed message: #pending-<id>. Say where it is now.
    const pendingHash = decodeURIComponent(location.hash || "");
    if (pendingHash.indexOf("#pending-") === 0) locatePending(pendingHash.slice(9));
    window.addEventListener("hashchange", function () { if (goToDeadLetter()) refreshDeadLetters(); });
    const newest = document.getElementById("dead-newest");
    if (newest) newest.addEventListener("click", function () { deadQuery = ""; refreshDeadLetters(); });
    const older = document.getElementById("dead-older");
    if (older) older.addEventListener("click", function () { deadQuery = "before=" + encodeURIComponent(older.dataset.cursor); refreshDeadLetters(); });
    const riskForm = document.getElementById("trim-risk-form");
    riskForm.addEventListener("submit", function (e) {
      e.preventDefault();
      const out = document.getElementById("trim-risk-result");
      fetch(config.api + "trim-risk/?maxlen=" + encodeURIComponent(riskForm.elements.maxlen.value), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (d) {
          out.className = d.level === "alert" ? "error" : d.level === "warn" ? "warning" : "muted";
          out.textContent = d.error ? d.error : "MAXLEN " + d.maxlen + " (" + d.level + "): " + d.detail +
            (d.safe_maxlen_at_least !== null && d.safe_maxlen_at_least !== undefined ? ". Keep at least " + d.safe_maxlen_at_least + " entries." : ".");
        }).catch(function (err) { out.textContent = "Failed: " + err.message; });
    });
    const trim = document.getElementById("trim");
    if (trim) trim.addEventListener("click", function () {
      act("Trim " + q(config.name) + "? Entries every group has acknowledged are deleted.", "trim/", {}, function (n) { return "Trimmed " + n + " acknowledged entries."; }, "Trim");
    });
    const purge = document.getElementById("purge");
    // Purge states the loss with numbers read now (not the page's) and needs the queue's
    // name typed, like a forced consumer delete.
    if (purge) purge.addEventListener("click", function () {
      fetch(config.api, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (d) {
        const s = d.snapshot || {};
        return SW.ask({
          title: "Purge " + config.name,
          text: [
            "Every entry of " + q(config.name) + " is deleted: " + SW.fmtNumber(s.length) + " entries right now, " +
              SW.fmtNumber(s.lag) + " not yet delivered and " + SW.fmtNumber(s.pending) + " pending. This cannot be undone.",
            "Type the queue name " + q(config.name) + " to purge.",
          ],
          fields: [{ name: "confirm", label: "Queue name", placeholder: config.name }],
          buttons: [{ label: "Purge", value: "purge", cls: "danger" }],
        });
      }).then(function (answer) {
        if (!answer) return;
        if (answer.values.confirm !== config.name) { SW.notify("Not purged: the name typed is not " + q(config.name) + ".", false); return; }
        send("purge/", {}, function (n) { return "Purged " + q(config.name) + (n !== null && n !== undefined ? ": " + n + " entries removed." : "."); });
      }).catch(function (err) { SW.notify("Failed: " + err.message, false); });
    });
    const replayAll = document.getElementById("dlq-replay-all");
    if (replayAll) replayAll.addEventListener("click", function () { act("Replay every dead letter of " + q(config.name) + "?", "dead-letters/replay/", { ids: "all" }, function (n) { return "Replayed " + n + " dead letter(s)."; }, "Replay all"); });
    const deleteAll = document.getElementById("dlq-delete-all");
    if (deleteAll) deleteAll.addEventListener("click", function () { act("Delete every dead letter of " + q(config.name) + "?", "dead-letters/delete/", { ids: "all" }, function (n) { return "Deleted " + n + " dead letter(s)."; }, "Delete all"); });
  });
})();
