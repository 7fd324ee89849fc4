/* Cohort dashboard: draws the charts from the json_script block (the tables beside them
   carry the same figures for screen readers and for readers without JavaScript), and
   follows a rebuild's progress by polling the status endpoint. */
(function () {
  "use strict";

  function drawCharts() {
    var source = document.getElementById("chart-data");
    if (!source || typeof window.Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var Chart = window.Chart;
    var palette = ["#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#d63384", "#20c997", "#6c757d"];
    var common = { responsive: true, maintainAspectRatio: false, animation: false };

    function chart(id, config) {
      var canvas = document.getElementById(id);
      if (canvas) new Chart(canvas, config);
    }

    chart("chart-phase", {
      type: "bar",
      data: { labels: data.phase.labels, datasets: [{ label: "Schools", data: data.phase.values, backgroundColor: palette }] },
      options: Object.assign({}, common, { plugins: { legend: { display: false } } })
    });
    chart("chart-money", {
      type: "bar",
      data: {
        labels: data.money.labels,
        datasets: [{ label: "£", data: data.money.values, backgroundColor: ["#6c757d", "#0d6efd", "#198754", "#fd7e14"] }]
      },
      options: Object.assign({}, common, {
        indexAxis: "y",
        plugins: { legend: { display: false } },
        scales: { x: { ticks: { callback: function (v) { return "£" + Number(v).toLocaleString("en-GB"); } } } }
      })
    });
    var months = data.activities_by_month;
    chart("chart-activities_by_month", {
      type: "bar",
      data: {
        labels: months.labels,
        datasets: [
          { type: "bar", label: "Activities", data: months.activities, backgroundColor: "#0d6efd", yAxisID: "y" },
          { type: "line", label: "Teachers reached", data: months.teachers, borderColor: "#198754", yAxisID: "y1" },
          { type: "line", label: "Students reached", data: months.students, borderColor: "#fd7e14", yAxisID: "y1" }
        ]
      },
      options: Object.assign({}, common, {
        scales: {
          y: { beginAtZero: true, title: { display: true, text: "Activities" } },
          y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "People reached" } }
        }
      })
    });
    chart("chart-region", {
      type: "bar",
      data: { labels: data.region.labels, datasets: [{ label: "Schools", data: data.region.values, backgroundColor: "#6f42c1" }] },
      options: Object.assign({}, common, { indexAxis: "y", plugins: { legend: { display: false } } })
    });
  }

  function followRebuild() {
    var box = document.getElementById("summary-status");
    var form = document.getElementById("rebuild-form");
    if (!box) return;
    var label = document.getElementById("summary-state-label");
    var progress = document.getElementById("summary-progress");
    var url = box.getAttribute("data-status-url");
    var builtAt = box.getAttribute("data-built-at") || null;
    var timer = null;

    function show(status) {
      label.textContent = status.label;
      if (status.error) label.textContent += " — " + status.error;
    }

    function poll() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (status) {
          show(status);
          if (status.busy) {
            timer = window.setTimeout(poll, 2000);
          } else if (status.built_at && status.built_at !== builtAt) {
            progress.appendChild(document.createTextNode(" — new figures ready, reloading…"));
            window.location.reload();
          }
        })
        .catch(function () { label.textContent = "Could not check the rebuild's progress; reload the page."; });
    }

    if (box.getAttribute("data-busy") === "true") {
      timer = window.setTimeout(poll, 2000);
    }

    if (form && window.fetch) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
        label.textContent = "Queueing…";
        fetch(form.action, {
          method: "POST",
          headers: { Accept: "application/json", "X-CSRFToken": token },
          credentials: "same-origin"
        })
          .then(function (r) { return r.json(); })
          .then(function (status) {
            show(status);
            label.textContent += " — " + status.message;
            if (timer) window.clearTimeout(timer);
            if (status.busy) {
              timer = window.setTimeout(poll, 1000);
            } else if (status.built_at && status.built_at !== builtAt) {
              window.location.reload(); // built at once (no separate worker)
            }
          })
          .catch(function () { form.submit(); });
      });
    }
  }

  drawCharts();
  followRebuild();
})();
