// pingji: the top bar's menu button on narrow screens (responsive.css hides the menu below
// 960 px while scripts run; without scripts the menu simply wraps and stays visible).
"use strict";

function setMenu(bar, open) {
  bar.classList.toggle("nav-open", open);
  var button = bar.querySelector(".nav-toggle");
  if (button) button.setAttribute("aria-expanded", open ? "true" : "false");
}

document.addEventListener("click", function (ev) {
  var button = ev.target.closest && ev.target.closest(".nav-toggle");
  if (!button) return;
  var bar = button.closest(".topbar");
  setMenu(bar, !bar.classList.contains("nav-open"));
});

document.addEventListener("keydown", function (ev) {
  if (ev.key !== "Escape") return;
  var bar = document.querySelector(".topbar.nav-open");
  if (!bar) return;
  setMenu(bar, false);
  bar.querySelector(".nav-toggle").focus();
});
