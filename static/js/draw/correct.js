// Corrections: save, replace or withdraw the label of the prediction on show, through the API.
// A label is a digit 0-9, or null for "not a digit" (sent as {"label": null}). A number is corrected whole
// ({"number": "2026"}) or one piece at a time ({"position": 3, "label": 6}); a piece that is no digit at all
// (a stray mark, half of a digit split in two) is {"position": 2, "label": null}.
// A drawing only previewed so far is stored first: correcting it is one of the ways a drawing ends.
import * as api from "../api.js";

export function createCorrector({ apiBase, pad, panel, predictor }) {
  let queued = null;  // {change}: the change to save once the drawing is stored; a newer one replaces it

  function whenStored(change) {
    if (queued) { queued.change = change; return; }
    if (!predictor.current() && !pad.hasInk()) return;  // nothing on show and nothing drawn
    const entry = queued = { change };
    predictor.keep().then((meta) => {
      if (queued !== entry) return;  // the drawing started over meanwhile
      queued = null;
      if (meta && meta.submission && predictor.current() === meta) entry.change(meta);
    });
  }

  const onNumber = () => {
    const meta = predictor.current();
    return Boolean(meta && meta.submission && meta.submission.kind === "number");
  };

  // A digit key or button: the label of a digit, of the number's picked piece, or typed into the number.
  // "Not a digit" is for one piece of a number: it needs a piece picked first.
  function correct(label) {
    if (!onNumber()) { whenStored((meta) => save(meta, label)); return; }
    const position = panel.picked();
    if (position === null) {
      if (label !== null) panel.typeDigit(label);
      else panel.say("Pick the piece that is not a digit first, then \u201cNot a digit\u201d.");
      return;
    }
    whenStored((meta) => saveNumber(meta, { position, label }));
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

  function saveNumber(meta, body) {
    const { submission } = meta;
    panel.say("Saving…");
    api.correctNumber(apiBase, submission.id, body).then((answer) => {
      submission.correction = answer.data && answer.data.correction;
      if (predictor.current() === meta) panel.showCorrection(submission);
    }, (error) => {
      if (predictor.current() === meta) panel.showCorrection(submission, "Not saved: " + error.detail);
    });
  }

  panel.onNumber((number) => {
    if (onNumber()) whenStored((meta) => saveNumber(meta, { number }));
  });

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
