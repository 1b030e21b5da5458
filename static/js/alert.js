// An alert's page, live: "alert.update" / "alerts.update" pushes for this alert change its
// state, who acknowledged or resolved it and when, and the buttons still offered.
// Text only (textContent): alert data is untrusted.
"use strict";
(function () {
  const SW = window.StreamWarden;
  const idNode = document.getElementById("alert-id");
  if (!idNode) return;
  const id = Number(idNode.textContent);

  function when(iso, by, nobody) {
    if (!iso) return "—";
    return String(iso).replace("T", " ").slice(0, 19) + " by " + (by || nobody);
  }

  function show(alert) {
    if (!alert || Number(alert.id) !== id) return;
    document.getElementById("alert-state").textContent = alert.state;
    const summary = document.getElementById("alert-summary");
    if (summary && alert.summary !== undefined) summary.textContent = alert.summary;
    document.getElementById("alert-acknowledged").textContent = when(alert.acknowledged_at, alert.acknowledged_by, "—");
    document.getElementById("alert-resolved").textContent = when(alert.resolved_at, alert.resolved_by, "the system (recovered)");
    const ack = document.getElementById("alert-acknowledge");
    if (ack) ack.hidden = alert.state !== "open";
    const actions = document.getElementById("alert-actions");
    if (actions) actions.hidden = alert.state === "resolved";
  }

  SW.on("alert.update", show);
  SW.on("alerts.update", function (data) { (data.alerts || []).forEach(show); });
})();
