// Corrections: save, replace or withdraw the label of the prediction on show, through the API.
// A label is a digit 0-9, or null for "not a digit" (sent as {"label": null}).
// A drawing only previewed so far is stored first: correcting it is one of the ways a drawing ends.
import * as api from "../api.js";

export function createCorrector({ apiBase, pad, panel, predictor }) {
  let queued = null;  // {label}: the label to save once the drawing is stored; a newer key press replaces it

  function correct(label) {
    if (queued) { queued.label = label; return; }
    if (!predictor.current() && !pad.hasInk()) return;  // nothing on show and nothing drawn
    const entry = queued = { label };
    predictor.keep().then((meta) => {
      if (queued !== entry) return;  // the drawing started over meanwhile
      queued = null;
      if (meta && meta.submission && predictor.current() === meta) save(meta, entry.label);
    });
  }

  // Tapping the saved label again takes the correction back.
  function save(meta, label) {
    const { submission } = meta;
    const withdraw = Boolean(submission.correction) && submission.correction.label === label;
    const call = withdraw ? api.withdraw(apiBase, submission.id) : api.correct(apiBase, submission.id, label);
    panel.say("Saving…");
    call.then((answer) => {
      // The API answers the whole submission; keep its correction (or at least the label).
      submission.correction = withdraw ? null : (answer.data && answer.data.correction) || { label };
      if (predictor.current() === meta) panel.showCorrection(submission, withdraw ? "Correction removed." : undefined);
    }, (error) => {
      if (predictor.current() === meta) panel.showCorrection(submission, "Not saved: " + error.detail);
    });
  }

  return {
    correct,
    shown(meta) {
      panel.showCorrection(meta.submission);
    },
    forget() {
      queued = null;
    },
  };
}
