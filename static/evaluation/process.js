/* Process evaluation: teacher CPD hours planned and delivered per partnership and cluster, drawn
   from the json_script block (the table below carries the same figures). */
(function () {
  "use strict";
  var source = document.getElementById("process-chart-data");
  var canvas = document.getElementById("chart-delivery");
  if (!source || !canvas || typeof window.Chart === "undefined") return;
  var data = JSON.parse(source.textContent);
  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [
        { label: "Hours planned", data: data.planned, backgroundColor: "#6c757d" },
        { label: "Hours delivered", data: data.delivered, backgroundColor: "#0d6efd" }
      ]
    },
    options: { responsive: true, maintainAspectRatio: false, animation: false, indexAxis: "y" }
  });
})();
