// The result panel: hint, error, predicted digit, probability bars, the two pictures and the correction row.

const HINTS = {
  idle: "Draw a digit and the model will tell you what it sees.",
  first: "Draw a digit first, then the model will tell you what it sees.",
  noDigit: "No digit found. Draw it larger or with darker lines.",
};

function percent(value) {
  const p = value * 100;
  // Never "100%" for 99.9, nor "0%" for 0.04: rounding would overstate certainty.
  return (p >= 99.95 ? "100" : p < 0.05 ? "0" : p < 10 ? p.toFixed(1) : p.toFixed(0)) + "%";
}

function statusLine(prediction) {
  return (prediction.model_version != null ? "Model v" + prediction.model_version : "") +
    (prediction.inference_ms != null ? " · " + prediction.inference_ms.toFixed(1) + " ms" : "");
}

// inputUrl(id): the address of the 28x28 image the model saw for submission `id`.
export function createPanel(doc, inputUrl) {
  const $ = (id) => doc.getElementById(id);
  const result = $("result"), hint = $("result-hint"), main = $("result-main"), details = $("result-details");
  const errorBox = $("result-error"), correctStatus = $("correct-status");
  const digitButtons = Array.from(doc.querySelectorAll(".digit-button"));
  const bars = Array.from(doc.querySelectorAll("#bars li"));

  function showHint(kind) {
    result.dataset.state = "empty";
    hint.textContent = HINTS[kind];
    hint.hidden = false;
    main.hidden = true;
    details.hidden = true;
    errorBox.hidden = true;
  }

  // keepState: a prediction is on show, and an error about something newer must not hide it.
  function showError(message, keepState) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    if (!keepState) result.dataset.state = "error";
  }

  function showHeadline(prediction) {
    $("result-digit").textContent = prediction.digit;
    $("result-confidence").textContent = percent(prediction.confidence) + " sure" +
      (prediction.confidence < 0.6 ? " (not very)" : "");
    $("result-status").textContent = statusLine(prediction);
  }

  function showBars(prediction) {
    bars.forEach((item, digit) => {
      const p = prediction.probabilities[digit] || 0;
      item.querySelector(".bar").style.height = Math.max(0, Math.min(100, p * 100)) + "%";
      item.querySelector(".bar-value").textContent = percent(p);
      item.classList.toggle("top", digit === prediction.digit);
      item.setAttribute("aria-label", digit + ": " + percent(p));
    });
  }

  function showPictures(submission, original, kind) {
    const url = inputUrl(submission.id);
    $("input-image").src = url;
    $("input-link").href = url;
    $("original-image").src = original;
    $("original-image").alt = kind === "upload" ? "The picture you uploaded" : "Your drawing";
  }

  function showPrediction(submission, original, kind) {
    result.dataset.state = "done";
    result.dataset.submission = submission.id;
    hint.hidden = true;
    main.hidden = false;
    details.hidden = false;
    showHeadline(submission.prediction);
    showBars(submission.prediction);
    showPictures(submission, original, kind);
  }

  // message: undefined to say what is saved, or a status of its own ("" says nothing).
  function showCorrection(submission, message) {
    const label = submission && submission.correction ? submission.correction.label : null;
    const predicted = submission && submission.prediction ? submission.prediction.digit : null;
    digitButtons.forEach((button) => {
      const digit = Number(button.dataset.label);
      button.setAttribute("aria-pressed", String(digit === label));
      button.classList.toggle("predicted", digit === predicted);
    });
    result.dataset.correction = label === null ? "" : String(label);
    correctStatus.textContent = message !== undefined ? message :
      label === null ? "" : "Saved: it was " + label + ". Thank you, this teaches the model.";
  }

  return {
    showHint,
    showError,
    showPrediction,
    showCorrection,
    hideError: () => { errorBox.hidden = true; },
    state: () => result.dataset.state,
    say: (message) => { correctStatus.textContent = message; },
    setBusy(busy) {
      result.dataset.busy = String(busy);
      result.setAttribute("aria-busy", String(busy));
    },
    onDigit(handler) {
      digitButtons.forEach((button) => {
        button.addEventListener("click", () => handler(Number(button.dataset.label)));
      });
    },
  };
}
