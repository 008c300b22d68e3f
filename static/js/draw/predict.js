// Predictions: previews while someone draws (debounced, nothing stored), then the drawing stored once, as one
// submission, when they stop: Predict, a correction, Clear, an upload, or leaving the page. A picture is stored at once.
import * as api from "../api.js";

const DEBOUNCE_MS = 300;  // pause while drawing before previewing
const MAX_WAIT_MS = 900;  // ... but preview at least this often during a long stroke

// hooks: shown(meta) once a prediction is on show, startedOver() when the drawing starts over.
// A "meta" is what the panel shows: {kind: "preview" | "canvas" | "upload", generation, edits, original, submission}.
// Only "canvas" and "upload" metas are stored submissions (with an id).
// kind(): "digit" or "number", what the pad holds now (the page's switch).
export function createPredictor({ apiBase, previewApi, pad, panel, hooks, kind }) {
  let current = null;       // the meta on show
  let generation = 0;       // bumps when the drawing starts over (Clear, upload), so late answers are known
  let edits = 0;            // bumps with every change to the drawing
  let kept = null;          // {generation, edits, promise}: the drawing as it was stored, once it is
  let timer = null, firstScheduled = 0;
  let inFlight = false, again = false;  // one preview at a time; `again` asks for one more after it
  let busy = 0;             // requests on their way, stores and uploads included
  let objectUrl = null;     // the uploaded picture, shown beside what the model saw

  function setBusy(change) {
    busy += change;
    panel.setBusy(busy > 0);
  }

  function cancelScheduled() {
    clearTimeout(timer);
    timer = null;
  }

  // The drawing changed: preview it once the pen pauses.
  function schedule() {
    edits += 1;
    const now = Date.now();
    if (timer === null) firstScheduled = now;
    clearTimeout(timer);
    const wait = Math.max(0, Math.min(DEBOUNCE_MS, firstScheduled + MAX_WAIT_MS - now));
    timer = setTimeout(() => { timer = null; previewDrawing(); }, wait);
  }

  function previewNow() {
    cancelScheduled();
    previewDrawing();
  }

  const isKept = () => kept !== null && kept.generation === generation && kept.edits === edits;

  function previewDrawing() {
    if (!pad.hasInk()) { showHint("first"); return; }
    if (isKept()) return;  // unchanged since it was stored: that answer is on show
    if (inFlight) { again = true; return; }
    const image = pad.exportPng();
    const meta = { kind: "preview", generation, edits, original: image };
    inFlight = true;
    setBusy(1);
    api.preview(previewApi, { image, source: "canvas", kind: kind() })
      .then((answer) => { meta.submission = answer; if (!stale(meta)) show(meta); },
        (error) => { if (!stale(meta)) failed(meta, error); })
      .then(() => {
        inFlight = false;
        setBusy(-1);
        if (again) { again = false; previewDrawing(); }
      });
  }

  // A late preview never replaces the stored answer of the same or a newer state, nor shows after a new start.
  function stale(meta) {
    if (meta.generation !== generation) return true;
    return current !== null && current.kind === "canvas" && current.generation === generation &&
      current.edits >= meta.edits;
  }

  // Store the drawing on the pad, once for each state of it; resolves to its meta, or null.
  function keepDrawing({ showIt = true } = {}) {
    cancelScheduled();
    if (!pad.hasInk()) return Promise.resolve(null);
    if (isKept()) return kept.promise;
    const image = pad.exportPng();
    const meta = { kind: "canvas", generation, edits, original: image };
    setBusy(1);
    const promise = api.submit(apiBase, { image, source: "canvas", kind: kind() })
      .then((submission) => {
        meta.submission = submission;
        if (showIt && meta.generation === generation) show(meta);
        return meta;
      }, (error) => { if (showIt) failed(meta, error); return null; })
      .finally(() => setBusy(-1));
    kept = { generation, edits, promise };
    return promise;
  }

  function predictFile(file) {
    if (!file) return;
    // Browsers do not always know a file's type; the server has the last word then.
    if (file.type && file.type.indexOf("image/") !== 0) {
      showError("That file is not a picture. Use PNG, JPEG, WebP, GIF, BMP or TIFF.");
      return;
    }
    startOver();
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = URL.createObjectURL(file);
    const form = new FormData();
    form.append("image", file, file.name || "pasted.png");
    form.append("source", "upload");
    form.append("kind", kind());
    const meta = { kind: "upload", generation, edits, original: objectUrl };
    setBusy(1);
    api.submit(apiBase, form)
      .then((submission) => { meta.submission = submission; if (meta.generation === generation) show(meta); },
        (error) => failed(meta, error))
      .then(() => setBusy(-1));
  }

  function failed(meta, error) {
    if (meta.generation !== generation) return;
    if (error.code === "empty_image") showHint(kind() === "number" ? "noNumber" : "noDigit");
    else showError(error.detail);
  }

  function show(meta) {
    current = meta;
    const { submission } = meta;
    panel.hideError();
    if (submission.status !== "done" || !submission.prediction) {
      showError(submission.status === "failed" ? "The model could not read this picture." : "Still predicting…");
      return;
    }
    panel.showPrediction(submission, meta.original, meta.kind);
    hooks.shown(meta);
  }

  function showHint(which) {
    panel.showHint(which);
    if (!pad.hasInk()) current = null;
  }

  function showError(message) {
    panel.showError(message, current !== null);
  }

  // The drawing ends: stored first if it was never stored as it is.
  function startOver() {
    if (pad.hasInk() && !isKept()) keepDrawing({ showIt: false });
    pad.clear();
    generation += 1;
    again = false;
    current = null;
    hooks.startedOver();
    cancelScheduled();
  }

  function clear() {
    startOver();
    showHint("idle");
  }

  return {
    schedule,
    previewNow,
    // Changed other than by the pen (undo): preview it at once.
    edited() {
      edits += 1;
      previewNow();
    },
    predictFile,
    clear,
    // Predict: the drawing is final; store it and show the stored answer.
    predict() {
      if (!pad.hasInk()) { showHint("first"); return; }
      keepDrawing();
    },
    // The stored submission to correct: the drawing on the pad (stored now if need be), or the upload on show.
    keep() {
      if (current && current.kind === "upload" && current.generation === generation) return Promise.resolve(current);
      return keepDrawing();
    },
    current: () => current,
    start() {
      setBusy(0);
      showHint("idle");
    },
    // A stroke after an upload begins a new drawing.
    leaveUpload() {
      if (current && current.kind === "upload") startOver();
    },
    // Undone to nothing: the drawing is gone, and nothing of it is stored.
    dropDrawing() {
      cancelScheduled();
      edits += 1;
      clear();
    },
    // Leaving the page: a drawing never stored is sent on its way, and arrives after the page is gone.
    leavePage() {
      if (!pad.hasInk() || isKept()) return;
      kept = { generation, edits, promise: Promise.resolve(null) };
      api.keepOnLeave(apiBase, { image: pad.exportPng(), source: "canvas", kind: kind() });
    },
  };
}
