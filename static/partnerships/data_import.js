// Progress of a data import: poll the status endpoint, move the bar, reload when it has finished.
// Without JavaScript the page refreshes itself (meta refresh) while the import runs.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box || box.dataset.busy !== "true") return;
  var bar = box.querySelector(".progress-bar");
  var note = document.getElementById("import-progress-note");
  function poll() {
    fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        bar.style.width = s.percent + "%";
        bar.setAttribute("aria-valuenow", s.percent);
        bar.textContent = s.percent + "%";
        if (note) note.textContent = s.rows_done + " of " + s.rows_expected + " rows";
        if (s.busy) { setTimeout(poll, 1500); } else { window.location.reload(); }
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
