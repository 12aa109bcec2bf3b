// pingji: a little JavaScript on server-rendered pages.
"use strict";

// Draw every figure written by the {% chart %} tag.
function drawCharts(root) {
  if (!window.Plotly) return;
  root.querySelectorAll("[data-figure]").forEach(function (el) {
    if (el.dataset.drawn) return;
    var fig = JSON.parse(document.getElementById(el.dataset.figure).textContent);
    Plotly.newPlot(el, fig.data, fig.layout, { displaylogo: false, responsive: true });
    el.dataset.drawn = "1";
  });
}

// Poll an element's data-poll URL until its JSON says done; update text and progress bars.
function pollProgress(el) {
  var url = el.dataset.poll;
  function tick() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        var bar = el.querySelector("progress");
        if (bar) bar.value = s.progress;
        var stage = el.querySelector("[data-stage]");
        if (stage) stage.textContent = s.stage || "";
        if (s.finished) { window.location.reload(); } else { setTimeout(tick, 1000); }
      })
      .catch(function () { setTimeout(tick, 3000); });
  }
  tick();
}

// Confirm before a destructive or final action: <form data-confirm="…">.
document.addEventListener("submit", function (ev) {
  var msg = ev.target.dataset && ev.target.dataset.confirm;
  if (msg && !window.confirm(msg)) ev.preventDefault();
});

window.addEventListener("load", function () {
  drawCharts(document);
  document.querySelectorAll("[data-poll]").forEach(pollProgress);
});
