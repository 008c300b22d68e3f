// The result panel: hint, error, predicted digit (or why there is none), probability bars, the two pictures
// and the correction row. A label is a digit 0-9, or null for "not a digit".

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

// What the detector said; a flagged prediction's digit is only the closest one, never the answer.
const VERDICTS = {
  not_a_digit: "That doesn't look like a digit",
  several_digits: "That looks like more than one digit",
};

function verdictOf(prediction) {
  if (prediction.is_digit === false) return prediction.reason === "several_digits" ? "several_digits" : "not_a_digit";
  return prediction.is_digit === true ? "digit" : "unknown";
}

// The correction buttons carry data-label "0".."9", or "none" for "not a digit".
function labelOf(button) {
  return button.dataset.label === "none" ? null : Number(button.dataset.label);
}

function statusLine(prediction) {
  return (prediction.model_version != null ? "Model v" + prediction.model_version : "") +
    (prediction.inference_ms != null ? " · " + prediction.inference_ms.toFixed(1) + " ms" : "");
}

// inputUrl(id): the address of the 28x28 image the model saw for submission `id`.
export function createPanel(doc, inputUrl) {
  const $ = (id) => doc.getElementById(id);
  const result = $("result"), hint = $("result-hint"), main = $("result-main"), details = $("result-details");
  const errorBox = $("result-error"), correctStatus = $("correct-status"), correctLabel = $("correct-label");
  const digitButtons = Array.from(doc.querySelectorAll(".digit-button"));
  const bars = Array.from(doc.querySelectorAll("#bars li"));

  function showHint(kind) {
    result.dataset.state = "empty";
    result.dataset.verdict = "";
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
    const verdict = verdictOf(prediction);
    const flagged = verdict === "not_a_digit" || verdict === "several_digits";
    result.dataset.verdict = verdict;
    // Flagged: the message is the answer, and the closest digit is shown small beside it.
    $("result-digit").hidden = flagged;
    $("result-digit").textContent = flagged ? "" : prediction.digit;
    $("result-confidence").hidden = flagged;
    $("result-confidence").textContent = flagged ? "" : percent(prediction.confidence) + " sure" +
      (prediction.confidence < 0.6 ? " (not very)" : "");
    $("result-verdict").hidden = !flagged;
    $("result-verdict").textContent = flagged ? VERDICTS[verdict] : "";
    $("result-closest").hidden = !flagged;
    $("result-closest").textContent = flagged ? "closest digit: " + prediction.digit + ", " + percent(prediction.confidence) : "";
    $("result-status").textContent = statusLine(prediction);
    correctLabel.textContent = flagged ? "Is it a digit after all? It was:" : "Wrong? It was:";
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

  // A preview has no id yet: what the model saw is shown once the drawing is stored.
  function showPictures(submission, original, kind) {
    const stored = submission.id != null;
    const url = stored ? inputUrl(submission.id) : "";
    $("input-figure").hidden = !stored;
    if (stored) {
      $("input-image").src = url;
      $("input-link").href = url;
    }
    $("original-image").src = original;
    $("original-image").alt = kind === "upload" ? "The picture you uploaded" : "Your drawing";
  }

  function showPrediction(submission, original, kind) {
    result.dataset.state = "done";
    result.dataset.submission = submission.id != null ? submission.id : "";
    result.dataset.kind = kind;
    hint.hidden = true;
    main.hidden = false;
    details.hidden = false;
    showHeadline(submission.prediction);
    showBars(submission.prediction);
    showPictures(submission, original, kind);
  }

  // The model's answer as a label: its digit, null when it flagged the picture, undefined before any.
  function answerOf(submission) {
    const prediction = submission && submission.prediction;
    if (!prediction) return undefined;
    return prediction.is_digit === false ? null : prediction.digit;
  }

  // message: undefined to say what is saved, or a status of its own ("" says nothing).
  function showCorrection(submission, message) {
    const correction = submission ? submission.correction : null;
    const answer = answerOf(submission);
    digitButtons.forEach((button) => {
      const label = labelOf(button);
      button.setAttribute("aria-pressed", String(Boolean(correction) && correction.label === label));
      button.classList.toggle("predicted", label === answer);
    });
    // "" without a correction, "none" for not a digit, else the digit.
    result.dataset.correction = !correction ? "" : correction.label === null ? "none" : String(correction.label);
    const saved = !correction ? "" : correction.label === null ?
      "Saved: not a digit." : "Saved: it was " + correction.label + ".";
    correctStatus.textContent = message !== undefined ? message :
      saved && saved + " Thank you, this teaches the model.";
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
        button.addEventListener("click", () => handler(labelOf(button)));
      });
    },
  };
}
