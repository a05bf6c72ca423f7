// procflow serve: the page's only script. Everything works without it; it adds
// rows to tables of line items, asks before cancelling an instance, and scrolls a
// wide diagram to the current step.
"use strict";
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.add-row");
  if (!button) return;
  const table = document.getElementById(button.dataset.table);
  const body = table.tBodies[0];
  const last = body.rows[body.rows.length - 1];
  const row = last.cloneNode(true);
  const index = body.rows.length;
  row.cells[0].textContent = String(index + 1);
  for (const input of row.querySelectorAll("input")) {
    input.value = "";
    input.name = input.name.replace(/\.(\d+)\.([A-Za-z_][A-Za-z0-9_]*)$/, `.${index}.$2`);
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
    input.setAttribute("aria-label", input.getAttribute("aria-label").replace(/ \d+ /, ` ${index + 1} `));
  }
  for (const error of row.querySelectorAll(".error")) error.remove();
  body.appendChild(row);
});
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
// a wide diagram scrolls sideways: bring the current step into view
document.addEventListener("DOMContentLoaded", () => {
  const figure = document.querySelector("figure.diagram");
  const current = figure && figure.querySelector(".pf-current");
  if (!current) return;
  const box = current.getBoundingClientRect();
  const frame = figure.getBoundingClientRect();
  figure.scrollLeft += box.left + box.width / 2 - frame.left - figure.clientWidth / 2;
});
