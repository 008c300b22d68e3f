// The history page: filters apply on change; a row's select corrects it and its button deletes it, through the API.
import * as api from "./api.js";

const root = document.getElementById("history");
if (root) start(root);

function start(root) {
  const base = root.dataset.api;
  const status = document.getElementById("history-status");
  const say = (message) => { status.textContent = message; };
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
  document.querySelectorAll(".correct-select").forEach((select) => wireCorrection(select, base, say));
  document.querySelectorAll(".number-correction").forEach((form) => wireNumberCorrection(form, base, say));
  document.querySelectorAll(".delete-button").forEach((button) => wireDelete(button, base, say));
}

function wireCorrection(select, base, say) {
  select.addEventListener("change", () => {
    const row = select.closest(".submission");
    const { id } = select.dataset;
    const value = select.value;
    const previous = row.dataset.correction;
    // "" withdraws, "none" says "not a digit" ({"label": null}), a digit corrects to it.
    const call = value === "" ? api.withdraw(base, id) :
      api.correct(base, id, value === "none" ? null : Number(value));
    select.disabled = true;
    call.then(() => {
      row.dataset.correction = value;
      showCorrection(row.querySelector(".correction-text"), value);
      say(value === "" ? `Correction removed from submission ${id}.` :
        value === "none" ? `Submission ${id} marked not a digit.` : `Submission ${id} corrected to ${value}.`);
    }, (error) => {
      select.value = previous;
      say(`Not saved: ${error.detail}`);
    }).then(() => { select.disabled = false; });
  });
}

// A number is corrected by typing it whole: as many digits as were found.
function wireNumberCorrection(form, base, say) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const { id } = form.dataset;
    const input = form.querySelector("input");
    const number = input.value.trim();
    input.disabled = true;
    api.correctNumber(base, id, { number }).then((answer) => {
      // The answer says what was saved: pieces marked not a digit on the draw page stay so while the number fits.
      const correction = (answer.data && answer.data.correction) || { number, not_digits: [] };
      const text = form.closest(".submission").querySelector(".correction-text");
      showCorrection(text, correction.number || "no digits");
      const marked = (correction.not_digits || []).length;
      if (marked) text.append(` (${marked} piece${marked === 1 ? "" : "s"} not a digit)`);
      say(`Submission ${id} corrected to ${number}.`);
    }, (error) => say(`Not saved: ${error.detail}`)).then(() => { input.disabled = false; });
  });
}

// Built with nodes, not markup, so nothing from the page is ever parsed as HTML.
function showCorrection(text, value) {
  text.textContent = "";
  if (value === "") {
    const none = document.createElement("span");
    none.className = "help";
    none.textContent = "Not corrected";
    text.appendChild(none);
    return;
  }
  const strong = document.createElement("strong");
  strong.textContent = value === "none" ? "not a digit" : value;
  text.append(value === "none" ? "Marked " : "Corrected to ", strong);
}

function wireDelete(button, base, say) {
  button.addEventListener("click", () => {
    const { id } = button.dataset;
    if (!window.confirm("Delete this submission and its picture? This cannot be undone.")) return;
    button.disabled = true;
    api.remove(base, id).then(() => {
      const row = button.closest(".submission");
      // Focus moves to a neighbour so keyboard users keep their place in the list.
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      say(`Submission ${id} deleted.`);
      const focusable = next && next.querySelector("select");
      if (focusable) focusable.focus();
    }, (error) => {
      button.disabled = false;
      say(`Not deleted: ${error.detail}`);
    });
  });
}
