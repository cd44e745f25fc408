// JourneyWorker dashboard: keeps the counts of a journey page current while it is open. The page works without it.
(function () {
  "use strict";
  var live = document.querySelector("[data-live]");
  if (!live || !window.fetch) { return; }
  var url = live.getAttribute("data-live");
  var every = Math.max(1000, parseInt(live.getAttribute("data-interval"), 10) || 5000);
  var state = document.getElementById("live-state");
  var timer = null;

  function set(el, value) {
    var text = String(value === undefined || value === null ? 0 : value);
    if (el.textContent !== text) { el.textContent = text; }
  }

  function apply(report) {
    document.querySelectorAll("[data-count]").forEach(function (el) {
      var node = report.nodes ? report.nodes[el.getAttribute("data-count")] : null;
      set(el, node ? node[el.getAttribute("data-field")] : 0);
    });
    document.querySelectorAll("[data-instances]").forEach(function (el) {
      var key = el.getAttribute("data-instances");
      set(el, key === "conversions" ? report.conversions : (report.instances || {})[key]);
    });
    if (state) { state.textContent = "Counts updated " + new Date().toLocaleTimeString() + "."; }
  }

  function poll() {
    timer = null;
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", redirect: "manual" })
      .then(function (response) {
        if (response.type === "opaqueredirect" || response.status === 401) {
          if (state) { state.textContent = "Signed out: reload the page to sign in again."; }
          return null;
        }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (report) {
        if (report) { apply(report); schedule(); }
      })
      .catch(function () {
        if (state) { state.textContent = "Could not refresh the counts; retrying."; }
        schedule();
      });
  }

  function schedule() {
    if (timer === null && !document.hidden) { timer = window.setTimeout(poll, every); }
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { if (timer !== null) { window.clearTimeout(timer); timer = null; } }
    else { poll(); }
  });
  if (state) { state.textContent = "Counts refresh every " + Math.round(every / 1000) + " s."; }
  schedule();
})();
