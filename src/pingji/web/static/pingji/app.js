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

// ---------------------------------------------------------------------------------------
// Behaviours the pages ask for with data attributes. The Content-Security-Policy allows
// scripts only from our static files: no inline <script>, no onclick="…" in the templates.

// <select data-submit-on-change [data-clear="field"]>: submit its form when it changes
// (first emptying the named field, e.g. the period when the scheme changes).
// <select data-go-on-change>: go to the address its chosen option holds.
document.addEventListener("change", function (ev) {
  var el = ev.target;
  if (!el.dataset) return;
  if (el.dataset.goOnChange !== undefined && el.value) {
    window.location = el.value;
  } else if (el.dataset.submitOnChange !== undefined && el.form) {
    if (el.dataset.clear && el.form.elements[el.dataset.clear]) {
      el.form.elements[el.dataset.clear].value = "";
    }
    el.form.submit();
  } else if (el.dataset.reloadWith !== undefined && el.value) {
    // <select data-reload-with="version">: reload the page with ?version=<value>
    window.location.search = "?" + el.dataset.reloadWith + "=" + encodeURIComponent(el.value);
  } else if (el.dataset.checkAll !== undefined) {
    // <input type=checkbox data-check-all>: (un)check every box named ids in its form
    el.closest("form").querySelectorAll("input[name=ids]").forEach(function (b) {
      b.checked = el.checked;
    });
  }
});

document.addEventListener("click", function (ev) {
  var el = ev.target.closest && ev.target.closest("[data-print], [data-copy], [data-line]");
  if (!el) return;
  if (el.dataset.print !== undefined) {
    window.print();  // <button data-print>
  } else if (el.dataset.copy) {
    // <button data-copy="id">: copy that field's value
    var field = document.getElementById(el.dataset.copy);
    if (field && navigator.clipboard) navigator.clipboard.writeText(field.value);
  } else if (el.dataset.line) {
    // "在编辑框中定位" (<a data-line="12">): select that line in the YAML text area
    var area = document.getElementById("id_yaml");
    if (!area) return;
    ev.preventDefault();
    var lines = area.value.split("\n"), n = parseInt(el.dataset.line, 10) - 1;
    var start = lines.slice(0, n).join("\n").length + (n > 0 ? 1 : 0);
    area.focus();
    area.setSelectionRange(start, start + (lines[n] || "").length);
    var lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 18;
    area.scrollTop = Math.max(0, (n - 5) * lineHeight);
    area.scrollIntoView({ block: "center" });
  }
});

// <input data-select-on-focus>: select all of it when focused (a token to copy).
document.addEventListener("focusin", function (ev) {
  if (ev.target.dataset && ev.target.dataset.selectOnFocus !== undefined) ev.target.select();
});

// A link to a line inside a closed <details> (#L12 on a scheme page) opens it.
function openHashTarget() {
  var el = location.hash && document.getElementById(location.hash.slice(1));
  var box = el && el.closest && el.closest("details");
  if (box && !box.open) { box.open = true; el.scrollIntoView(); }
}
window.addEventListener("hashchange", openHashTarget);

document.addEventListener("DOMContentLoaded", function () {
  openHashTarget();
  // Show the first flagged line inside a scrolling YAML box.
  var first = document.querySelector(".yaml-scroll tr.line-error");
  var box = first && first.closest(".yaml-scroll");
  if (box) box.scrollTop = Math.max(0, first.offsetTop - 60);
});
