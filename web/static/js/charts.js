// Draws every <canvas data-chart='{"type":…,"data":…,"options":…}'> with the vendored Chart.js.
// Charts are declared in templates as JSON (no inline scripts), and redrawn after htmx swaps.
(function () {
  function draw(root) {
    if (!window.Chart) return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas._chart) return;
      try {
        var spec = JSON.parse(canvas.dataset.chart);
        spec.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, spec.options || {});
        canvas._chart = new window.Chart(canvas, spec);
      } catch (err) {
        console.error("chart", err);
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (ev) { draw(ev.target); });
})();
