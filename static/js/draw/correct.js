// Corrections: save, replace or withdraw the label of the prediction on show, through the API.
// A label is a digit 0-9, or null for "not a digit" (sent as {"label": null}).
import * as api from "../api.js";

export function createCorrector({ apiBase, pad, panel, predictor }) {
  let pending = null;  // {label}: a label typed while the drawing's prediction was on its way

  function correct(label) {
    if (predictor.drawingInFlight() && pad.hasInk()) { pending = { label }; return; }
    const meta = predictor.current();
    if (!meta || !meta.submission || panel.state() !== "done") return;
    save(meta, label);
  }

  // Tapping the saved label again takes the correction back.
  function save(meta, label) {
    const { submission } = meta;
    const withdraw = Boolean(submission.correction) && submission.correction.label === label;
    meta.correcting = true;  // so a newer prediction does not delete the submission meanwhile
    const call = withdraw ? api.withdraw(apiBase, submission.id) : api.correct(apiBase, submission.id, label);
    panel.say("Saving…");
    call.then((answer) => {
      // The API answers the whole submission; keep its correction (or at least the label).
      submission.correction = withdraw ? null : (answer.data && answer.data.correction) || { label };
      if (predictor.current() === meta) panel.showCorrection(submission, withdraw ? "Correction removed." : undefined);
    }, (error) => {
      if (predictor.current() === meta) panel.showCorrection(submission, "Not saved: " + error.detail);
    }).then(() => { meta.correcting = false; });
  }

  return {
    correct,
    shown(meta) {
      panel.showCorrection(meta.submission);
      if (pending === null) return;
      const { label } = pending;
      pending = null;
      // Straight to save: `correct` would see the request that is just ending and queue the label again.
      if (meta.submission) save(meta, label);
    },
    forget() {
      pending = null;
    },
  };
}
