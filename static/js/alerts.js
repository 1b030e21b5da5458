// Alerts page: live rows over the dashboard websocket ("alert.update", and
// "alerts.update" carrying many at once), no reload.
// Every value is put in with textContent, never innerHTML: alert data is untrusted.
(function () {
  "use strict";
  const table = document.getElementById("alerts");
  if (!table) return;
  const tbody = table.querySelector("tbody");
  const filters = JSON.parse(document.getElementById("alert-filters-data").textContent);
  const canChange = table.dataset.canChange === "1";
  const csrf = (document.querySelector("[name=csrfmiddlewaretoken]") || {}).value || "";
  const next = table.dataset.listUrl || "/alerts/";

  function matches(alert) {
    return ["queue", "kind", "severity", "state", "group"].every(
      (name) => !filters[name] || String(alert[name]) === filters[name]
    );
  }

  function cell(row, text) {
    const td = document.createElement("td");
    if (text instanceof Node) td.appendChild(text); else td.textContent = text == null ? "" : String(text);
    row.appendChild(td);
    return td;
  }

  function link(href, text) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }

  function actionForm(alert, action, label) {
    const form = document.createElement("form");
    form.method = "post";
    form.className = "inline";
    form.action = "/alerts/" + encodeURIComponent(alert.id) + "/" + action + "/";
    for (const [name, value] of [["csrfmiddlewaretoken", csrf], ["next", next]]) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      form.appendChild(input);
    }
    const button = document.createElement("button");
    button.type = "submit";
    button.textContent = label;
    form.appendChild(button);
    return form;
  }

  // "Silence this": the page's one form (a <template>, present with the permission),
  // filled in for a row or a group of rows.
  const silenceTemplate = document.getElementById("silence-template");

  function silenceForm(queue, group, kind, alertId) {
    if (!silenceTemplate) return null;
    const node = silenceTemplate.content.firstElementChild.cloneNode(true);
    const values = { queue: queue || "", group: group || "", kind: kind || "", alert: alertId || "" };
    Object.keys(values).forEach(function (name) {
      const input = node.querySelector('input[name="' + name + '"]');
      if (input) input.value = String(values[name]);
    });
    const covers = node.querySelector('[data-field="covers"]');
    if (covers) {
      covers.textContent = (queue ? "queue " + JSON.stringify(String(queue)) : "every queue") +
        (group ? ", group " + JSON.stringify(String(group)) : "") + ", kind " + (kind || "any");
    }
    return node;
  }

  function render(alert) {
    const row = document.createElement("tr");
    row.id = "alert-" + alert.id;
    row.className = "alert-row state-" + alert.state;
    row.dataset.id = alert.id;
    if (canChange) {
      const pick = document.createElement("input");
      pick.type = "checkbox";
      pick.name = "ids";
      pick.value = alert.id;
      pick.setAttribute("form", "bulk");
      pick.setAttribute("aria-label", "select alert " + alert.id);
      cell(row, pick);
    }
    const when = document.createElement("time");
    when.dateTime = alert.created_at || "";
    when.textContent = (alert.created_at || "").replace("T", " ").slice(0, 19);
    cell(row, when);
    const sev = document.createElement("span");
    sev.className = "status status-" + alert.severity;
    sev.title = "Alert severity";
    sev.textContent = alert.severity;
    cell(row, sev);
    cell(row, alert.kind);
    cell(row, alert.queue ? link("/queues/" + encodeURIComponent(alert.queue) + "/", alert.queue) : "");
    cell(row, alert.group);
    cell(row, link("/alerts/" + encodeURIComponent(alert.id) + "/", alert.message_id || "details"));
    cell(row, alert.summary);
    cell(row, alert.state).className = "state";
    const actions = cell(row, "");
    actions.className = "actions";
    if (canChange) {
      if (alert.state === "open") actions.appendChild(actionForm(alert, "acknowledge", "Acknowledge"));
      if (alert.state !== "resolved") actions.appendChild(actionForm(alert, "resolve", "Resolve"));
    }
    const silence = silenceForm(alert.queue, alert.group, alert.kind, alert.id);
    if (silence) actions.appendChild(silence);
    return row;
  }

  // New alerts are added at the top of the newest page only; older pages keep their rows.
  const newestPage = (table.dataset.page || "1") === "1";

  function update(alert) {
    const existing = document.getElementById("alert-" + alert.id);
    if (!existing && !newestPage) return;
    if (!matches(alert)) {
      if (existing) existing.remove();
      return;
    }
    const row = render(alert);
    if (existing) {
      existing.replaceWith(row);
    } else {
      const empty = tbody.querySelector("tr.empty");
      if (empty) empty.remove();
      tbody.insertBefore(row, tbody.firstChild);
    }
  }

  const all = document.getElementById("select-all");
  if (all) all.addEventListener("change", function () {
    tbody.querySelectorAll("input[name=ids]").forEach(function (box) { box.checked = all.checked; });
  });

  // Counts, grouped view and total follow live changes: re-read (debounced) from the
  // summary API, so a storm of pushes costs one request every two seconds at most.
  let summaryTimer = null;
  function scheduleSummary() {
    if (summaryTimer) return;
    summaryTimer = setTimeout(function () {
      summaryTimer = null;
      const query = new URLSearchParams();
      ["queue", "kind", "severity", "state", "group"].forEach(function (k) { if (filters[k]) query.set(k, filters[k]); });
      fetch("/api/alerts/summary/?" + query.toString(), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(renderSummary)
        .catch(function () {});
    }, 2000);
  }

  function renderSummary(data) {
    if (!data || !data.counts) return;
    document.querySelectorAll("#alert-counts [data-severity]").forEach(function (n) {
      n.textContent = String(data.counts.severity[n.dataset.severity] || 0);
    });
    document.querySelectorAll("#alert-counts [data-state]").forEach(function (n) {
      n.textContent = String(data.counts.state[n.dataset.state] || 0);
    });
    document.querySelectorAll('#alert-paging [data-field="total"]').forEach(function (n) { n.textContent = String(data.total); });
    const body = document.querySelector("#alert-groups-table tbody");
    if (!body) return;
    while (body.firstChild) body.removeChild(body.firstChild);
    if (!data.groups.length) {
      const tr = document.createElement("tr");
      const td = cell(tr, "No alerts match.");
      td.colSpan = 8;
      td.className = "muted";
      body.appendChild(tr);
    }
    data.groups.forEach(function (g) {
      const tr = document.createElement("tr");
      tr.className = "alert-group";
      cell(tr, g.queue || "—");
      cell(tr, g.kind);
      cell(tr, g.group || "—");
      cell(tr, g.count).dataset.field = "count";
      cell(tr, g.open).dataset.field = "open";
      cell(tr, (g.first_seen || "").replace("T", " ").slice(0, 19));
      cell(tr, (g.last_seen || "").replace("T", " ").slice(0, 19));
      const query = new URLSearchParams();
      if (filters.severity) query.set("severity", filters.severity);
      if (filters.state) query.set("state", filters.state);
      query.set("queue", g.queue); query.set("kind", g.kind); query.set("group", g.group);
      const show = cell(tr, link("?" + query.toString(), "show " + g.count));
      const silence = silenceForm(g.queue, g.group, g.kind, null);
      if (silence) show.appendChild(silence);
      body.appendChild(tr);
    });
  }

  let delay = 500;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/ws/live/");
    socket.onopen = () => { delay = 500; table.dataset.live = "1"; };
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "alert.update") { update(message.data); scheduleSummary(); }
      if (message.type === "alerts.update") { (message.data.alerts || []).forEach(update); scheduleSummary(); }
    };
    socket.onclose = () => {
      table.dataset.live = "0";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }
  connect();
})();
