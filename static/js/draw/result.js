// The result panel: hint, error, predicted digit (or why there is none), probability bars, the two pictures
// and the correction row. A label is a digit 0-9, or null for "not a digit".

const HINTS = {
  idle: "Draw a digit and the model will tell you what it sees.",
  first: "Draw a digit first, then the model will tell you what it sees.",
  noDigit: "No digit found. Draw it larger or with darker lines.",
  noNumber: "No digits found. Write them larger or with darker lines.",
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

// What a number's saved correction says: "Saved: it was 2026 (1 piece not a digit).", "" when there is none.
function numberSaved(correction) {
  if (!correction || correction.number == null) return "";
  const marked = (correction.not_digits || []).length;
  const pieces = marked === 1 ? " (1 piece not a digit)" : marked ? " (" + marked + " pieces not digits)" : "";
  return correction.number ? "Saved: it was " + correction.number + pieces + "." : "Saved: no digits in it.";
}

// A number's label for each piece found, left to right: its corrected digit (null: not a digit), else what was read.
function pieceLabels(submission) {
  const digits = submission.prediction.digits;
  const correction = submission.correction;
  if (!correction || correction.number == null) return digits.map((digit) => digit.digit);
  const marked = new Set(correction.not_digits || []);
  const typed = correction.number.split("").map(Number);
  if (typed.length + marked.size !== digits.length) return digits.map((digit) => digit.digit);
  return digits.map((_digit, index) => (marked.has(index) ? null : typed.shift()));
}

// inputUrl(id): the address of the 28x28 image the model saw for submission `id`.
export function createPanel(doc, inputUrl) {
  const $ = (id) => doc.getElementById(id);
  const result = $("result"), hint = $("result-hint"), main = $("result-main"), details = $("result-details");
  const errorBox = $("result-error"), correctStatus = $("correct-status"), correctLabel = $("correct-label");
  const digitButtons = Array.from(doc.querySelectorAll(".digit-button"));
  const bars = Array.from(doc.querySelectorAll("#bars li"));

  function showHint(kind) {
    numbers.hide();
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
    numbers.hide();
    if (submission.kind === "number") {
      numbers.show(submission, original);
      return;
    }
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
    if (submission && submission.kind === "number") {
      digitButtons.forEach((button) => { button.setAttribute("aria-pressed", "false"); button.classList.remove("predicted"); });
      numbers.showCorrection(submission);
      const saved = numberSaved(submission.correction);
      correctStatus.textContent = message !== undefined ? message : saved && saved + " Thank you, this teaches the model.";
      return;
    }
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

  // The saved label of a number's picked piece shows pressed, as a single digit's saved label does.
  function pressLabel(label) {
    digitButtons.forEach((button) => button.setAttribute("aria-pressed", String(label !== undefined && labelOf(button) === label)));
  }

  const numbers = createNumberView(doc, {
    $, correctLabel, pressLabel, showHeadlineStatus: (p) => { $("result-status").textContent = statusLine(p); },
  });

  return {
    showHint,
    showError,
    showPrediction,
    showCorrection,
    // A number on show: which of its digits is picked (a position, or null), and what the person types.
    picked: () => numbers.picked(),
    onPick: (handler) => numbers.onPick(handler),
    typeDigit: (digit) => numbers.typeDigit(digit),
    onNumber: (handler) => numbers.onNumber(handler),
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

// A number's answer: the number large, each digit's box over the picture with its confidence (a button that picks
// it for correcting), and a field to type the whole number.
function createNumberView(doc, { $, correctLabel, pressLabel, showHeadlineStatus }) {
  const details = $("number-details"), boxes = $("number-boxes"), image = $("number-image");
  const form = $("number-form"), input = $("number-input");
  let submission = null, picked = null, onPick = () => {}, onNumber = () => {};

  // The number as it stands: the saved correction's, else what was read.
  function labels() {
    const correction = submission.correction;
    if (correction && correction.number != null) return correction.number;
    return submission.prediction.number || "";
  }

  function place() {
    const width = image.naturalWidth, height = image.naturalHeight;
    if (!submission || !width || !height) return;
    Array.from(boxes.children).forEach((button, index) => {
      const [x, y, w, h] = submission.prediction.digits[index].box;
      button.style.left = (100 * x / width) + "%";
      button.style.top = (100 * y / height) + "%";
      button.style.width = (100 * w / width) + "%";
      button.style.height = (100 * h / height) + "%";
    });
  }

  // "Not a digit" is offered for a picked piece only: a number as a whole is corrected by typing it.
  function pick(position) {
    picked = position;
    $("result").dataset.picked = String(position !== null);
    const saved = submission && submission.correction && submission.correction.number != null;
    pressLabel(position !== null && saved ? pieceLabels(submission)[position] : undefined);
    Array.from(boxes.children).forEach((button, index) => button.setAttribute("aria-pressed", String(index === position)));
    const digits = submission ? submission.prediction.digits : [];
    correctLabel.textContent = position === null ? "Pick a digit above to correct it, or type the number." :
      "Digit " + (position + 1) + " of " + digits.length + " (read as " + digits[position].digit + "): it was";
  }

  function drawBoxes() {
    boxes.textContent = "";
    const truth = pieceLabels(submission);
    submission.prediction.digits.forEach((digit, index) => {
      const button = doc.createElement("button");
      button.type = "button";
      const notDigit = truth[index] === null;
      const corrected = truth[index] !== digit.digit;
      const said = notDigit ? "not a digit" : String(truth[index]);
      button.className = "number-box" + (corrected ? " corrected" : "") + (notDigit ? " not-digit" : "");
      button.dataset.position = String(index);
      button.dataset.label = notDigit ? "none" : String(truth[index]);
      button.setAttribute("aria-pressed", "false");
      button.setAttribute("aria-label", "Digit " + (index + 1) + ": read as " + digit.digit + ", " +
        percent(digit.confidence) + " sure" + (corrected ? ", corrected to " + said : ""));
      const label = doc.createElement("span");
      label.className = "box-label";
      label.textContent = digit.digit + " · " + percent(digit.confidence) + (corrected ? " → " + (notDigit ? "✕" : said) : "");
      button.appendChild(label);
      button.addEventListener("click", () => { pick(picked === index ? null : index); onPick(picked); });
      boxes.appendChild(button);
    });
    place();
  }

  image.addEventListener("load", place);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onNumber(input.value.trim());
  });

  return {
    show(shown, original) {
      submission = shown;
      const prediction = shown.prediction;
      details.hidden = false;
      $("result-digit").hidden = false;
      $("result-digit").textContent = prediction.number;
      $("result-confidence").hidden = false;
      $("result-confidence").textContent = percent(prediction.confidence) + " sure of every digit" +
        (prediction.confidence < 0.6 ? " (not very)" : "");
      $("result-verdict").hidden = prediction.is_digit !== false;
      $("result-verdict").textContent = prediction.is_digit === false ? "Part of it doesn't look like a digit" : "";
      $("result-closest").hidden = true;
      showHeadlineStatus(prediction);
      image.src = original;
      input.value = labels();
      drawBoxes();
      pick(null);
    },
    hide() {
      submission = null;
      picked = null;
      $("result").dataset.picked = "false";
      details.hidden = true;
    },
    showCorrection(shown) {
      submission = shown;
      input.value = labels();
      const keep = picked;
      drawBoxes();
      pick(keep);
    },
    picked: () => (submission ? picked : null),
    onPick(handler) { onPick = handler; },
    onNumber(handler) { onNumber = handler; },
    typeDigit(digit) {
      if (!submission) return;
      if (doc.activeElement !== input) { input.value = ""; input.focus(); }
      if (input.value.length < 16) input.value += String(digit);
    },
  };
}
