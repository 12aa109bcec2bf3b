// pingji: the scheme form editor (schemes/form_editor.html). The sum of a group's weights
// follows the typing; a group weighted by fractions shows whether it is 1. The server checks
// the sum again on saving (schemes/formedit.py): this is only a guide while typing.
"use strict";

(function () {
  // Parse a number as the server does: thousands commas allowed, nothing else.
  function parse(text) {
    var t = String(text).trim().replace(/[,，_]/g, "");
    if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t)) return null;
    return Number(t);
  }

  // Round away binary noise (0.1 + 0.2) without hiding a real difference of 1e-9.
  function tidy(x) {
    return String(Math.round(x * 1e10) / 1e10);
  }

  function updateGroup(group) {
    var inputs = group.querySelectorAll("input[data-weight]");
    var out = group.querySelector("[data-weight-sum]");
    var note = group.querySelector("[data-weight-note]");
    var line = out && out.closest(".weight-sum");
    var total = 0, ok = true;
    inputs.forEach(function (input) {
      var n = parse(input.value);
      if (n === null) ok = false; else total += n;
    });
    if (!out) return;
    out.textContent = ok ? tidy(total) : "—";
    var target = group.dataset.weightTarget;
    if (!note) return;
    if (target === undefined) {
      note.textContent = note.dataset.ratio;
      line.classList.remove("error", "ok");
      return;
    }
    var good = ok && Math.abs(total - Number(target)) <= 1e-9;
    note.textContent = good ? note.dataset.ok : note.dataset.bad;
    line.classList.toggle("error", !good);
    line.classList.toggle("ok", good);
  }

  function updateSwatch(input) {
    var swatch = document.querySelector('[data-swatch-for="' + input.id + '"]');
    if (swatch) swatch.style.background = input.value.trim();
  }

  document.addEventListener("input", function (ev) {
    var el = ev.target;
    if (!el.dataset) return;
    if (el.dataset.weight !== undefined) {
      var group = el.closest("[data-weight-group]");
      if (group) updateGroup(group);
    }
    if (el.dataset.colorInput !== undefined) updateSwatch(el);
  });

  document.querySelectorAll("[data-weight-group]").forEach(updateGroup);
})();
