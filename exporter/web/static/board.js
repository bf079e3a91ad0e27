// Status board: submit filters on change, and swap in a fresh board every few seconds
// (keeps the scroll position and the filters, which live in the URL).
"use strict";
document.documentElement.classList.add("js");

function wireFilters() {
  const form = document.getElementById("filters");
  if (form) form.addEventListener("change", () => form.submit());
}

async function refresh() {
  const board = document.getElementById("board");
  // An open <details> or a focused control means someone is reading or choosing: wait.
  if (!board || board.querySelector("details[open]") || board.contains(document.activeElement) &&
      document.activeElement !== document.body) return;
  try {
    const resp = await fetch(location.href, { cache: "no-store" });
    if (!resp.ok) return;
    const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
    const fresh = doc.getElementById("board");
    if (fresh) {
      board.replaceWith(fresh);
      document.title = doc.title;
      wireFilters();
    }
  } catch (err) {
    // The exporter restarting or the network gone: keep showing the last board.
  }
}

wireFilters();
window.boardRefresh = refresh;  // for the browser test: one refresh now, without waiting
const seconds = Number(document.body.dataset.refresh || 0);
if (seconds > 0) setInterval(refresh, seconds * 1000);
