// pingji: the rating sheet (ratings/sheet.html) — a spreadsheet of score inputs.
// Tab moves right (the browser's own order: row by row); Enter / ↓ moves down the column,
// Shift+Enter / ↑ up; Enter never submits the form. A value that is not a number within the
// cell's scale is marked at once (the server checks again and keeps every typed value).
// Leaving the page with unsaved values asks first. No inline script: the page's
// Content-Security-Policy allows scripts from our static files only.
"use strict";

(function () {
  var form = document.querySelector("form[data-sheet]");
  if (!form) return;
  var inputs = Array.prototype.slice.call(form.querySelectorAll("input.sheet-input"));
  var dirty = false;

  function column(input) {
    return inputs.filter(function (el) { return el.dataset.col === input.dataset.col; });
  }

  function move(input, step) {
    var col = column(input);
    var next = col[col.indexOf(input) + step];
    if (next) {
      next.focus();
      next.select();
    }
  }

  function check(input) {
    var text = input.value.replace(/[,,]/g, "").trim();
    var bad = false;
    if (text !== "") {
      var x = Number(text);
      bad = !isFinite(x) || x < Number(input.dataset.lo) || x > Number(input.dataset.hi);
    }
    input.classList.toggle("is-invalid", bad);
    input.title = bad ? input.dataset.lo + " – " + input.dataset.hi : "";
  }

  form.addEventListener("keydown", function (ev) {
    var el = ev.target;
    if (!el.classList || !el.classList.contains("sheet-input")) return;
    if (ev.key === "Enter") {
      ev.preventDefault();
      move(el, ev.shiftKey ? -1 : 1);
    } else if (ev.key === "ArrowDown") {
      ev.preventDefault();
      move(el, 1);
    } else if (ev.key === "ArrowUp") {
      ev.preventDefault();
      move(el, -1);
    }
  });

  form.addEventListener("input", function (ev) {
    if (ev.target.classList && ev.target.classList.contains("sheet-input")) {
      dirty = true;
      check(ev.target);
    }
  });

  form.addEventListener("click", function (ev) {
    var button = ev.target.closest && ev.target.closest("[data-confirm-submit]");
    if (button && !window.confirm(button.dataset.confirmSubmit)) ev.preventDefault();
  });

  form.addEventListener("submit", function () { dirty = false; });
  window.addEventListener("beforeunload", function (ev) {
    if (dirty) {
      ev.preventDefault();
      ev.returnValue = "";
    }
  });

  inputs.forEach(check);
  var first = form.querySelector("input.sheet-input[aria-invalid=true]");
  if (first) first.focus();
})();
