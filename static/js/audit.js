// The audit log, live: an "audit.update" (one new entry) is added at the top of the first
// page when it matches the page's filters. Text only (textContent), never markup.
"use strict";
(function () {
  const SW = window.StreamWarden;

  // Shared with the queue page's audit section: one row of the audit table.
  SW.auditRow = function (entry, withDetails) {
    const tr = document.createElement("tr");
    tr.dataset.id = entry.id;
    tr.dataset.action = entry.action;
    const when = (entry.at || "").replace("T", " ").slice(0, 19);
    [when, entry.user || "(anonymous)", entry.action, entry.target].forEach(function (text) {
      tr.appendChild(SW.el("td", text));
    });
    const result = document.createElement("td");
    if (entry.ok) result.textContent = "ok";
    else result.appendChild(SW.el("span", entry.details && entry.details.denied ? "denied" : "failed", "error"));
    tr.appendChild(result);
    if (withDetails) {
      const details = document.createElement("td");
      const empty = !entry.details || (typeof entry.details === "object" && !Object.keys(entry.details).length);
      details.appendChild(SW.el("pre", empty ? "" : JSON.stringify(entry.details, null, 2), "payload"));
      tr.appendChild(details);
    }
    return tr;
  };

  // Adds the entry at the top of tbody (once), keeping at most `keep` rows.
  SW.prependAudit = function (tbody, entry, withDetails, keep) {
    if (tbody.querySelector('tr[data-id="' + CSS.escape(String(entry.id)) + '"]')) return;
    const empty = tbody.querySelector("tr.empty");
    if (empty) empty.remove();
    tbody.insertBefore(SW.auditRow(entry, withDetails), tbody.firstChild);
    while (keep && tbody.rows.length > keep) tbody.deleteRow(tbody.rows.length - 1);
  };

  const table = document.getElementById("audit");
  if (!table) return;
  const f = table.dataset;
  function matches(entry) {
    if (f.user && entry.user !== f.user) return false;
    if (f.action && entry.action !== f.action) return false;
    if (f.queue && entry.target !== f.queue && String(entry.target).indexOf(f.queue + "/") !== 0) return false;
    return true;
  }
  SW.on("audit.update", function (entry) {
    if (f.page !== "1" || !matches(entry)) return;
    SW.prependAudit(table.tBodies[0], entry, true, 100);
    // a new user or action becomes a filter choice, once
    [["user", entry.user], ["action", entry.action]].forEach(function (pair) {
      const select = document.querySelector('#audit-filters select[name="' + pair[0] + '"]');
      if (!select || !pair[1]) return;
      if (Array.from(select.options).some(function (o) { return o.value === pair[1]; })) return;
      const option = SW.el("option", pair[1]);
      option.value = pair[1];
      select.appendChild(option);
    });
  });
})();
