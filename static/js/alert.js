// An alert's page, live: "alert.update" / "alerts.update" pushes for this alert change its
// state, who acknowledged or resolved it and when, and the buttons still offered. The
// "Notification" line (sent, queued, failed, silenced...) follows the notifier, which pushes
// nothing: it is read again from the API after each push for this alert and every
// NOTIFICATION_EVERY ms while the page is in view.
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

  const NOTIFICATION_EVERY = 5000;
  function refreshNotification() {
    fetch("/api/alerts/" + id + "/", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        const node = document.getElementById("notification-status");
        if (data && node && typeof data.notification_status === "string") node.textContent = data.notification_status;
      })
      .catch(function () {});
  }
  setInterval(function () { if (document.visibilityState === "visible") refreshNotification(); }, NOTIFICATION_EVERY);

  function showAndRefresh(alert) {
    if (!alert || Number(alert.id) !== id) return;
    show(alert);
    refreshNotification();
  }
  SW.on("alert.update", showAndRefresh);
  SW.on("alerts.update", function (data) { (data.alerts || []).forEach(showAndRefresh); });
})();
