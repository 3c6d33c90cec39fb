// Keyboard screening: j/k next/previous, i/e/m include/exclude/maybe, 1/2/3 mode.
// No inline scripts anywhere (the Content-Security-Policy forbids them).
"use strict";
document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) return;
  const article = document.querySelector("article.candidate");
  const form = document.getElementById("decide");
  const go = (url) => { if (url) window.location.assign(url); };
  switch (event.key) {
    case "j": if (article) go(article.dataset.next); break;
    case "k": if (article) go(article.dataset.previous); break;
    case "i": case "e": case "m": {
      if (!form) return;
      const button = { i: "include", e: "exclude", m: "maybe" }[event.key];
      form.requestSubmit(document.getElementById(button));
      break;
    }
    case "1": case "2": case "3": {
      if (!form) return;
      const modes = form.querySelectorAll('input[name="mode"]');
      const choice = modes[Number(event.key) - 1];
      if (choice) choice.checked = true;
      break;
    }
    default: return;
  }
  event.preventDefault();
});
document.addEventListener("click", (event) => {
  const row = event.target.closest && event.target.closest("tr.row");
  if (row && event.target.tagName !== "A") window.location.assign(row.dataset.href);
});
