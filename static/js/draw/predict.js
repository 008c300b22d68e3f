// Predictions: the drawing (debounced while the pen moves) or a picture, sent through the API, one drawing at a time.
import * as api from "../api.js";

const DEBOUNCE_MS = 300;  // pause while drawing before predicting
const MAX_WAIT_MS = 900;  // ... but predict at least this often during a long stroke

// hooks: shown(meta) once a prediction is on show, startedOver() when the drawing starts over.
// A "meta" is what the panel shows: {kind, generation, original, submission, correcting}.
export function createPredictor({ apiBase, pad, panel, hooks }) {
  let current = null;       // the meta on show
  let generation = 0;       // bumps when the drawing starts over (Clear, upload), so late answers are known
  let timer = null, firstScheduled = 0;
  let inFlight = false, again = false;  // one drawing request at a time; `again` asks for one more after it
  let busy = 0;             // requests on their way, uploads included
  let objectUrl = null;     // the uploaded picture, shown beside what the model saw

  function setBusy(change) {
    busy += change;
    panel.setBusy(busy > 0);
  }

  function cancelScheduled() {
    clearTimeout(timer);
    timer = null;
  }

  function schedule() {
    const now = Date.now();
    if (timer === null) firstScheduled = now;
    clearTimeout(timer);
    const wait = Math.max(0, Math.min(DEBOUNCE_MS, firstScheduled + MAX_WAIT_MS - now));
    timer = setTimeout(() => { timer = null; predictDrawing(); }, wait);
  }

  function predictNow() {
    cancelScheduled();
    predictDrawing();
  }

  function predictDrawing() {
    if (!pad.hasInk()) { showHint("first"); return; }
    if (inFlight) { again = true; return; }
    const image = pad.exportPng();
    send({ image, source: "canvas" }, { kind: "canvas", generation, original: image });
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
    send(form, { kind: "upload", generation, original: objectUrl });
  }

  function send(body, meta) {
    if (meta.kind === "canvas") inFlight = true;
    setBusy(1);
    api.submit(apiBase, body)
      .then((submission) => arrived(meta, submission), (error) => failed(meta, error))
      .then(() => settled(meta));
  }

  function arrived(meta, submission) {
    meta.submission = submission;
    if (meta.generation === generation) { show(meta); return; }
    // The drawing was cleared while this was on its way: the answer is for nothing on screen.
    if (meta.kind === "canvas") discard(meta);
  }

  function failed(meta, error) {
    if (meta.generation !== generation) return;
    if (error.code === "empty_image") showHint("noDigit");
    else showError(error.detail);
  }

  function settled(meta) {
    if (meta.kind === "canvas") {
      inFlight = false;
      if (again) { again = false; predictDrawing(); }
    }
    setBusy(-1);
  }

  // Live prediction stores one submission per request; only the latest for a
  // drawing is kept, unless the person corrected an earlier one.
  function discard(meta) {
    if (!meta || !meta.submission || meta.submission.correction || meta.correcting) return;
    api.remove(apiBase, meta.submission.id).catch(() => { /* already gone */ });
  }

  function show(meta) {
    const previous = current;
    if (previous && previous !== meta && previous.kind === "canvas" && previous.generation === meta.generation) {
      discard(previous);
    }
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

  function showHint(kind) {
    panel.showHint(kind);
    if (!pad.hasInk()) current = null;
  }

  function showError(message) {
    panel.showError(message, current !== null);
  }

  function startOver() {
    pad.clear();
    generation += 1;
    again = false;
    hooks.startedOver();
    cancelScheduled();
  }

  function clear() {
    startOver();
    showHint("idle");
  }

  return {
    schedule,
    predictNow,
    predictFile,
    clear,
    current: () => current,
    drawingInFlight: () => inFlight,
    start() {
      setBusy(0);
      showHint("idle");
    },
    // A stroke after an upload begins a new drawing.
    leaveUpload() {
      if (current && current.kind !== "canvas") startOver();
    },
    // Undone to nothing: the drawing is gone, and so is its (uncorrected) submission.
    dropDrawing() {
      if (current && current.kind === "canvas") discard(current);
      clear();
    },
  };
}
