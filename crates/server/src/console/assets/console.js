// Latchkey console: small enhancements only; every page works without this script.
// - [data-copy="id"] buttons copy the text of the element with that id;
// - forms with [data-confirm] ask before submitting;
// - selects with [data-autosubmit] submit their form on change.
"use strict";
document.addEventListener("click", (ev) => {
  const button = ev.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(() => {
    button.textContent = "Copied";
  });
});
document.addEventListener("submit", (ev) => {
  const form = ev.target;
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) ev.preventDefault();
});
document.addEventListener("change", (ev) => {
  const select = ev.target.closest("select[data-autosubmit]");
  if (select && select.form) select.form.requestSubmit();
});
document.querySelectorAll("[data-copy]").forEach((b) => { b.hidden = false; });
