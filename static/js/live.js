// Live updates over the websocket. Everything that comes from data is written with
// textContent (never innerHTML), so payloads and names can never become markup.
"use strict";
(function () {
  const handlers = {};
  const SW = (window.StreamWarden = window.StreamWarden || {});

  SW.on = function (type, fn) { (handlers[type] = handlers[type] || []).push(fn); };

  SW.fmtNumber = function (v, digits) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    return digits ? Number(v).toFixed(digits) : String(v);
  };
  // A figure a plain stream cannot have (dead letters, duplicates): null means "n/a", not 0.
  SW.fmtKnown = function (v) {
    return v === null || v === undefined ? "n/a" : SW.fmtNumber(v);
  };
  SW.fmtAge = function (ms) {
    if (ms === null || ms === undefined || ms === "") return "–";
    const s = Number(ms) / 1000;
    if (s < 60) return s.toFixed(1) + " s";
    if (s < 3600) return (s / 60).toFixed(1) + " min";
    if (s < 86400) return (s / 3600).toFixed(1) + " h";
    return (s / 86400).toFixed(1) + " d";
  };
  // Forecasts (time to drain / breach): 0 is "now", null is "not at current rates".
  SW.fmtForecast = function (seconds, zero) {
    if (seconds === null || seconds === undefined) return "–";
    if (Number(seconds) === 0) return zero || "now";
    return SW.fmtAge(Number(seconds) * 1000);
  };
  SW.el = function (tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  };
  // A message payload as text: JSON pretty-printed (2-space indent), anything else as it
  // is; folded after FOLD_LINES lines or FOLD_CHARS characters with a "show more" toggle.
  // textContent only: a payload is shown, never run.
  const FOLD_LINES = 8, FOLD_CHARS = 600;
  const MAX_PRETTY_DEPTH = 32;  // deeper (hostile or undecodable) JSON is shown as stored
  function depth(value) {
    let deepest = 0;
    const stack = [[value, 1]];
    while (stack.length) {
      const [v, d] = stack.pop();
      if (v === null || typeof v !== "object") continue;
      if (d > deepest) deepest = d;
      if (deepest > MAX_PRETTY_DEPTH) return deepest;
      Object.keys(v).forEach(function (k) { stack.push([v[k], d + 1]); });
    }
    return deepest;
  }
  SW.prettyPayload = function (text) {
    const raw = String(text);
    try {
      const value = JSON.parse(raw);
      if (value !== null && typeof value === "object" && depth(value) <= MAX_PRETTY_DEPTH) {
        return JSON.stringify(value, null, 2);
      }
    } catch (e) { /* not JSON: shown as stored */ }
    return raw;
  };
  SW.payloadView = function (text, hidden) {
    if (hidden) return SW.el("span", "hidden", "muted payload-hidden");
    if (text === null || text === undefined) return SW.el("span", "gone from the stream (trimmed or deleted)", "muted payload-gone");
    const full = SW.prettyPayload(text);
    const lines = full.split("\n");
    let short = lines.length > FOLD_LINES ? lines.slice(0, FOLD_LINES).join("\n") : full;
    if (short.length > FOLD_CHARS) short = short.slice(0, FOLD_CHARS);
    const box = SW.el("div", null, "payload-view");
    const pre = SW.el("pre", short === full ? full : short + " …", "payload");
    box.appendChild(pre);
    if (short !== full) {
      const more = SW.el("button", "show more", "link-button");
      more.type = "button";
      more.setAttribute("aria-expanded", "false");
      more.addEventListener("click", function () {
        const open = more.getAttribute("aria-expanded") !== "true";
        pre.textContent = open ? full : short + " …";
        pre.classList.toggle("expanded", open);
        more.textContent = open ? "show less" : "show more";
        more.setAttribute("aria-expanded", String(open));
      });
      box.appendChild(more);
    }
    return box;
  };
  SW.setField = function (root, field, text) {
    root.querySelectorAll('[data-field="' + field + '"]').forEach(function (n) { n.textContent = text; });
  };
  SW.csrf = function () {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  };
  SW.post = function (url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": SW.csrf() },
      body: JSON.stringify(body || {}),
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) {
          // the API's own words (and field errors), and its data (e.g. a fresh count)
          const fields = Object.keys(data.fields || {}).map(function (k) {
            const m = data.fields[k];
            return (k ? k + ": " : "") + (Array.isArray(m) ? m.join(" ") : m);
          });
          const err = new Error([data.error || r.statusText].concat(fields).join(" — "));
          err.data = data;
          err.status = r.status;
          throw err;
        }
        return data;
      });
    });
  };

  function showMonitor(data) {
    const box = document.getElementById("monitor-status");
    if (box) {
      SW.setField(box, "monitor-text", data.redis_ok === false ? "Redis unreachable" : "running");
      SW.setField(document, "poll_ms", SW.fmtNumber(data.poll_ms));
      SW.setField(document, "poll_commands", SW.fmtNumber(data.poll_commands));
      SW.setField(document, "queues", SW.fmtNumber(data.queues));
      SW.setField(document, "cycle_ms", SW.fmtNumber(data.cycle_ms));
      SW.setField(document, "phases", Object.keys(data.phases || {}).map(function (p) {
        return p + " " + SW.fmtNumber(data.phases[p]);
      }).join(", "));
    }
    const banner = document.getElementById("banner");
    const initial = document.getElementById("initial-outage");
    if (initial) initial.remove();
    if (!banner) return;
    if (data.redis_ok === false) {
      banner.textContent = "Redis unreachable since " + (data.redis_down_since || "?") +
        (data.redis_error ? " — " + data.redis_error : "");
      banner.hidden = false;
    } else if (data.stale && data.running === false) {
      banner.textContent = "The monitor is not reporting (last poll " + (data.last_cycle_at || "never") + ")";
      banner.hidden = false;
    } else {
      banner.hidden = true;
      banner.textContent = "";
    }
  }
  SW.on("monitor.status", showMonitor);

  function setLive(text) {
    SW.setField(document, "live", text);
  }

  // When the websocket is down (its channel layer may live on the Redis that is down),
  // ask the API how the monitor is, so the page still shows the outage.
  let pollTimer = null;
  function pollMonitor() {
    fetch("/api/monitor/", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) showMonitor(data); })
      .catch(function () {});
  }
  function startPolling() { if (!pollTimer) { pollMonitor(); pollTimer = setInterval(pollMonitor, 3000); } }
  function stopPolling() { if (pollTimer) { clearInterval(pollTimer); pollTimer = null; } }

  // Freshness: the age of the newest live message. The monitor reports every cycle, so a
  // quiet websocket (network gone, a frozen tab) or a quiet monitor shows as old data,
  // even while the socket still looks connected.
  let lastUpdate = Date.now();
  function showAge() {
    const node = document.getElementById("data-age");
    if (!node) return;
    const box = document.getElementById("monitor-status");
    const limit = Number(box && box.dataset.staleAfter) || 10;
    const age = Math.floor((Date.now() - lastUpdate) / 1000);
    const stale = age > limit;
    node.textContent = "data " + age + " s old" + (stale ? " — no live updates: the websocket or the monitor is quiet" : "");
    node.className = stale ? "stale" : "";
  }
  setInterval(showAge, 1000);

  // The queues this page shows (SW.watch): the server then pushes only their updates. A
  // page that shows none gets none (a push of every changed queue can be megabytes).
  let watching = [], socket = null;
  function sendWatch() {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ watch: watching }));
  }
  SW.watch = function (names) { watching = Array.from(names, String); sendWatch(); };

  let retry = 500;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = (socket = new WebSocket(scheme + location.host + "/ws/live/"));
    ws.onopen = function () { retry = 500; setLive("connected"); stopPolling(); sendWatch(); };
    ws.onmessage = function (event) {
      lastUpdate = Date.now();
      showAge();
      let msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      (handlers[msg.type] || []).forEach(function (fn) {
        try { fn(msg.data); } catch (e) { console.error(e); }
      });
    };
    ws.onclose = function () {
      setLive("reconnecting…");
      startPolling();
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }
  // A wide table scrolls in its own box: one that scrolls gets a tab stop, so keyboard users
  // can scroll it too (it may hold no link or button of its own, e.g. a plain stream's groups).
  function keyboardScroll(table) {
    const scrolls = table.scrollWidth > table.clientWidth + 1;
    if (scrolls && !table.hasAttribute("tabindex")) {
      table.tabIndex = 0;
      table.dataset.scrollStop = "1";
    } else if (!scrolls && table.dataset.scrollStop) {
      table.removeAttribute("tabindex");
      delete table.dataset.scrollStop;
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    const tables = document.querySelectorAll("main table");
    if (window.ResizeObserver) {
      const watch = new ResizeObserver(function (entries) { entries.forEach(function (e) { keyboardScroll(e.target); }); });
      tables.forEach(function (t) { watch.observe(t); if (t.tBodies[0]) watch.observe(t.tBodies[0]); });
    }
    tables.forEach(keyboardScroll);
  });

  document.addEventListener("DOMContentLoaded", function () {
    const box = document.getElementById("monitor-status");
    if (box && box.dataset.redisOk === "false") startPolling();
    connect();
  });
})();
