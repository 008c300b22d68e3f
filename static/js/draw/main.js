// The draw page's entry point: builds the pad, the result panel, predictions and corrections, and connects them.
import { createPad } from "./canvas.js";
import { createCorrector } from "./correct.js";
import { wireInputs } from "./inputs.js";
import { createPredictor } from "./predict.js";
import { createPanel } from "./result.js";

const root = document.getElementById("recognizer");
if (root) start(root);

function start(root) {
  const apiBase = root.dataset.api;
  const submissions = new URL(root.dataset.submissionsUrl, document.baseURI);
  const inputUrl = (id) => new URL(`./${encodeURIComponent(id)}/input.png`, submissions).href;
  const undoButton = document.getElementById("undo");
  const panel = createPanel(document, inputUrl);
  // The hooks call the predictor and corrector made just below: only events fire them, after both exist.
  const pad = createPad(document.getElementById("pad"), {
    beforeStroke: () => predictor.leaveUpload(),
    onInk: () => predictor.schedule(),
    onStrokeEnd: () => predictor.previewNow(),
    onRender: (hasInk) => {
      root.classList.toggle("has-ink", hasInk);
      undoButton.disabled = !hasInk;
    },
  });
  const predictor = createPredictor({
    apiBase, previewApi: root.dataset.previewApi, pad, panel,
    hooks: { shown: (meta) => corrector.shown(meta), startedOver: () => corrector.forget() },
    kind: () => root.dataset.kind,
  });
  const corrector = createCorrector({ apiBase, pad, panel, predictor });

  // Undoing the last stroke ends the drawing rather than predicting a blank pad.
  function undo() {
    if (!pad.undo()) return;
    if (pad.hasInk()) predictor.edited();
    else predictor.dropDrawing();
  }

  panel.onDigit(corrector.correct);
  wireKindSwitch(root, (kind) => {
    predictor.clear();
    root.dataset.kind = kind;
    pad.setAspect(kind === "number" ? 3 : 1);
  });
  wireInputs(document, {
    undo, clear: predictor.clear, predict: predictor.predict,
    correct: corrector.correct, predictFile: predictor.predictFile,
  });
  predictor.start();
  // pagehide, not unload: it also fires when the page goes into the back-forward cache.
  window.addEventListener("pagehide", predictor.leavePage);
  window.addEventListener("resize", pad.resize);
  pad.resize();
}

// Digit | Number: what the pad reads. Switching starts a new drawing (the one on the pad is kept first).
function wireKindSwitch(root, change) {
  const buttons = Array.from(root.querySelectorAll(".kind-button"));
  buttons.forEach((button) => {
    button.addEventListener("click", () => {
      if (root.dataset.kind === button.dataset.kind) return;
      buttons.forEach((other) => other.setAttribute("aria-pressed", String(other === button)));
      change(button.dataset.kind);
    });
  });
}
