// The draw page: a Pointer Events canvas, uploads (picker, drop, paste), the
// live prediction and the one-tap correction. Everything is stored, predicted
// and corrected through the REST API (static/js/api.js).
(function () {
  "use strict";

  var EXPORT_SIZE = 280;          // the PNG sent to the server, in pixels
  var STROKE = 1 / 14;            // brush width as a fraction of the canvas side
  var DEBOUNCE_MS = 300;          // pause while drawing before predicting
  var MAX_WAIT_MS = 900;          // ... but predict at least this often during a long stroke

  var root = document.getElementById("recognizer");
  if (!root) return;
  var api = root.dataset.api;
  var inputUrl = root.dataset.inputUrl;
  var $ = function (id) { return document.getElementById(id); };
  var canvas = $("pad"), ctx = canvas.getContext("2d");
  var result = $("result"), hint = $("result-hint"), main = $("result-main"), details = $("result-details");
  var errorBox = $("result-error"), correctStatus = $("correct-status");
  var digitButtons = Array.prototype.slice.call(document.querySelectorAll(".digit-button"));
  var bars = Array.prototype.slice.call(document.querySelectorAll("#bars li"));

  // ---- drawing -------------------------------------------------------------
  var strokes = [];               // each stroke: a list of {x, y} in 0..1
  var activePointer = null;
  var generation = 0;             // bumps when the drawing starts over (Clear, upload)
  var frame = null;

  function resize() {
    var side = Math.round(canvas.getBoundingClientRect().width * (window.devicePixelRatio || 1));
    if (side > 0 && canvas.width !== side) {
      canvas.width = side;
      canvas.height = side;
    }
    render();
  }

  function strokePath(points, width, height) {
    ctx.beginPath();
    ctx.moveTo(points[0].x * width, points[0].y * height);
    if (points.length === 1) {
      ctx.lineTo(points[0].x * width + 0.01, points[0].y * height);
    }
    // Quadratic curves through the midpoints give smooth, even strokes.
    for (var i = 1; i < points.length - 1; i++) {
      var midX = (points[i].x + points[i + 1].x) / 2, midY = (points[i].y + points[i + 1].y) / 2;
      ctx.quadraticCurveTo(points[i].x * width, points[i].y * height, midX * width, midY * height);
    }
    if (points.length > 1) {
      var last = points[points.length - 1];
      ctx.lineTo(last.x * width, last.y * height);
    }
    ctx.stroke();
  }

  function render() {
    frame = null;
    var width = canvas.width, height = canvas.height;
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, width, height);
    ctx.strokeStyle = "#000000";
    ctx.lineWidth = Math.max(2, width * STROKE);
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    strokes.forEach(function (points) { strokePath(points, width, height); });
    root.classList.toggle("has-ink", strokes.length > 0);
    $("undo").disabled = strokes.length === 0;
  }

  function requestRender() { if (frame === null) frame = requestAnimationFrame(render); }

  function pointFrom(event) {
    var rect = canvas.getBoundingClientRect();
    return {
      x: Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width)),
      y: Math.min(1, Math.max(0, (event.clientY - rect.top) / rect.height))
    };
  }

  canvas.addEventListener("pointerdown", function (event) {
    if (activePointer !== null || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    activePointer = event.pointerId;
    try { canvas.setPointerCapture(event.pointerId); } catch (e) { /* synthetic pointers */ }
    if (current && current.kind !== "canvas") startOver();
    strokes.push([pointFrom(event)]);
    requestRender();
    schedulePrediction();
  });

  canvas.addEventListener("pointermove", function (event) {
    if (event.pointerId !== activePointer) return;
    event.preventDefault();
    var stroke = strokes[strokes.length - 1];
    var events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    (events.length ? events : [event]).forEach(function (e) { stroke.push(pointFrom(e)); });
    requestRender();
    schedulePrediction();
  });

  function endStroke(event) {
    if (event.pointerId !== activePointer) return;
    activePointer = null;
    predictNow();
  }
  canvas.addEventListener("pointerup", endStroke);
  canvas.addEventListener("pointercancel", endStroke);
  // Belt and braces for browsers that scroll despite touch-action: none.
  canvas.addEventListener("touchmove", function (event) { event.preventDefault(); }, { passive: false });
  canvas.addEventListener("contextmenu", function (event) { event.preventDefault(); });

  function undo() {
    if (!strokes.length) return;
    strokes.pop();
    if (strokes.length) {
      render();
      predictNow();
      return;
    }
    // Undone to nothing: the drawing is gone, and so is its (uncorrected) submission.
    if (current && current.kind === "canvas") discard(current);
    clear();
  }

  function startOver() {
    strokes = [];
    generation += 1;
    again = false;
    pendingLabel = null;
    cancelScheduled();
    render();
  }

  function clear() {
    startOver();
    showEmpty();
  }

  function exportPng() {
    var out = document.createElement("canvas");
    out.width = EXPORT_SIZE;
    out.height = EXPORT_SIZE;
    var outCtx = out.getContext("2d");
    outCtx.fillStyle = "#ffffff";
    outCtx.fillRect(0, 0, EXPORT_SIZE, EXPORT_SIZE);
    outCtx.drawImage(canvas, 0, 0, EXPORT_SIZE, EXPORT_SIZE);
    return out.toDataURL("image/png");
  }

  // ---- predicting ----------------------------------------------------------
  var current = null;             // the submission in the panel, plus kind and generation
  var timer = null, firstScheduled = 0;
  var inFlight = false, again = false;  // one canvas prediction at a time; `again` asks for one more
  var busy = 0;                   // requests on their way, uploads included
  var pendingLabel = null;        // a correction typed while a prediction was on its way
  var objectUrl = null;

  function setBusy(change) {
    busy += change;
    result.dataset.busy = String(busy > 0);
    result.setAttribute("aria-busy", String(busy > 0));
  }

  function cancelScheduled() { clearTimeout(timer); timer = null; }

  function schedulePrediction() {
    var now = Date.now();
    if (timer === null) firstScheduled = now;
    clearTimeout(timer);
    var wait = Math.max(0, Math.min(DEBOUNCE_MS, firstScheduled + MAX_WAIT_MS - now));
    timer = setTimeout(function () { timer = null; predictDrawing(); }, wait);
  }

  function predictNow() { cancelScheduled(); predictDrawing(); }

  function predictDrawing() {
    if (!strokes.length) { showEmpty(true); return; }
    if (inFlight) { again = true; return; }
    var image = exportPng();
    send({ image: image, source: "canvas" }, { kind: "canvas", generation: generation, original: image });
  }

  function predictFile(file) {
    if (!file) return;
    if (file.type && file.type.indexOf("image/") !== 0) {
      showError("That file is not a picture. Use PNG, JPEG, WebP, GIF, BMP or TIFF.");
      return;
    }
    startOver();
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = URL.createObjectURL(file);
    var form = new FormData();
    form.append("image", file, file.name || "pasted.png");
    form.append("source", "upload");
    send(form, { kind: "upload", generation: generation, original: objectUrl });
  }

  function send(body, meta) {
    if (meta.kind === "canvas") inFlight = true;
    setBusy(1);
    window.DigitsApi.submit(api, body).then(function (submission) {
      meta.submission = submission;
      if (meta.generation !== generation) {
        // The drawing was cleared while this was on its way: the answer is for nothing on screen.
        if (meta.kind === "canvas") discard(meta);
        return;
      }
      show(meta);
    }, function (error) {
      if (meta.generation !== generation) return;
      if (error.code === "empty_image") showEmpty(true, "No digit found. Draw it larger or with darker lines.");
      else showError(error.detail);
    }).then(function () {
      if (meta.kind === "canvas") {
        inFlight = false;
        if (again) { again = false; predictDrawing(); }
      }
      setBusy(-1);
    });
  }

  // Live prediction stores one submission per request; only the latest for a
  // drawing is kept, unless the person corrected an earlier one.
  function discard(meta) {
    if (!meta || !meta.submission || meta.submission.correction || meta.correcting) return;
    window.DigitsApi.remove(api, meta.submission.id).catch(function () { /* already gone */ });
  }

  function showEmpty(emphasise, message) {
    result.dataset.state = "empty";
    hint.textContent = message || (emphasise ? "Draw a digit first, then the model will tell you what it sees."
                                             : "Draw a digit and the model will tell you what it sees.");
    hint.hidden = false;
    main.hidden = true;
    details.hidden = true;
    errorBox.hidden = true;
    if (!strokes.length) current = null;
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    result.dataset.state = current ? result.dataset.state : "error";
  }

  function percent(value) {
    var p = value * 100;
    return (p >= 99.95 ? "100" : p < 0.05 ? "0" : p < 10 ? p.toFixed(1) : p.toFixed(0)) + "%";
  }

  function show(meta) {
    var previous = current;
    if (previous && previous !== meta && previous.kind === "canvas" && previous.generation === meta.generation) {
      discard(previous);
    }
    current = meta;
    var submission = meta.submission;
    errorBox.hidden = true;
    if (submission.status !== "done" || !submission.prediction) {
      showError(submission.status === "failed" ? "The model could not read this picture." : "Still predicting…");
      return;
    }
    var prediction = submission.prediction;
    result.dataset.state = "done";
    result.dataset.submission = submission.id;
    hint.hidden = true;
    main.hidden = false;
    details.hidden = false;
    $("result-digit").textContent = prediction.digit;
    $("result-confidence").textContent = percent(prediction.confidence) + " sure" +
      (prediction.confidence < 0.6 ? " (not very)" : "");
    $("result-status").textContent = (prediction.model_version != null ? "Model v" + prediction.model_version : "") +
      (prediction.inference_ms != null ? " · " + prediction.inference_ms.toFixed(1) + " ms" : "");
    bars.forEach(function (item, digit) {
      var p = prediction.probabilities[digit] || 0;
      item.querySelector(".bar").style.height = Math.max(0, Math.min(100, p * 100)) + "%";
      item.querySelector(".bar-value").textContent = percent(p);
      item.classList.toggle("top", digit === prediction.digit);
      item.setAttribute("aria-label", digit + ": " + percent(p));
    });
    var url = inputUrl.replace("/0/", "/" + submission.id + "/");
    $("input-image").src = url;
    $("input-link").href = url;
    $("original-image").src = meta.original;
    $("original-image").alt = meta.kind === "upload" ? "The picture you uploaded" : "Your drawing";
    renderCorrection();
    if (pendingLabel !== null) { var label = pendingLabel; pendingLabel = null; correct(label); }
  }

  // ---- correcting ----------------------------------------------------------
  function renderCorrection(message) {
    var submission = current && current.submission;
    var label = submission && submission.correction ? submission.correction.label : null;
    digitButtons.forEach(function (button) {
      var digit = Number(button.dataset.label);
      button.setAttribute("aria-pressed", String(digit === label));
      button.classList.toggle("predicted", !!submission && submission.prediction && digit === submission.prediction.digit);
    });
    result.dataset.correction = label === null ? "" : String(label);
    correctStatus.textContent = message !== undefined ? message :
      label === null ? "" : "Saved: it was " + label + ". Thank you, this teaches the model.";
  }

  function correct(label) {
    if (inFlight && strokes.length) { pendingLabel = label; return; }
    if (!current || !current.submission || result.dataset.state !== "done") return;
    var meta = current, submission = meta.submission;
    var withdraw = submission.correction && submission.correction.label === label;
    meta.correcting = true;
    var call = withdraw ? window.DigitsApi.withdraw(api, submission.id)
                        : window.DigitsApi.correct(api, submission.id, label);
    correctStatus.textContent = "Saving…";
    call.then(function (answer) {
      // The API answers the whole submission; keep its correction (or at least the label).
      submission.correction = withdraw ? null : (answer.data && answer.data.correction) || { label: label };
      if (current === meta) renderCorrection(withdraw ? "Correction removed." : undefined);
    }, function (error) {
      if (current === meta) renderCorrection("Not saved: " + error.detail);
    }).then(function () { meta.correcting = false; });
  }

  digitButtons.forEach(function (button) {
    button.addEventListener("click", function () { correct(Number(button.dataset.label)); });
  });

  // ---- controls, keyboard, uploads -----------------------------------------
  $("undo").addEventListener("click", undo);
  $("clear").addEventListener("click", clear);
  $("predict").addEventListener("click", predictNow);
  $("file-input").addEventListener("change", function (event) {
    predictFile(event.target.files[0]);
    event.target.value = "";
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName))) return;
    if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "z") {
      event.preventDefault();
      undo();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (/^[0-9]$/.test(event.key)) {
      event.preventDefault();
      correct(Number(event.key));
    } else if (event.key === "Escape" || event.key === "Backspace") {
      event.preventDefault();
      clear();
    }
  });

  // A picture dropped anywhere on the page is recognised (and never opened in place of the page).
  var dropZone = $("drop-zone"), dragDepth = 0;
  function carriesFiles(event) {
    return event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types || [], "Files") !== -1;
  }
  document.addEventListener("dragenter", function (event) {
    if (!carriesFiles(event)) return;
    dragDepth += 1;
    dropZone.classList.add("dragging");
  });
  document.addEventListener("dragover", function (event) {
    if (carriesFiles(event)) event.preventDefault();
  });
  document.addEventListener("dragleave", function (event) {
    if (!carriesFiles(event)) return;
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) dropZone.classList.remove("dragging");
  });
  document.addEventListener("drop", function (event) {
    dragDepth = 0;
    dropZone.classList.remove("dragging");
    var files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length) return;
    event.preventDefault();
    predictFile(files[0]);
  });
  document.addEventListener("paste", function (event) {
    var items = (event.clipboardData && event.clipboardData.items) || [];
    for (var i = 0; i < items.length; i++) {
      if (items[i].kind === "file" && items[i].type.indexOf("image/") === 0) {
        event.preventDefault();
        predictFile(items[i].getAsFile());
        return;
      }
    }
  });

  setBusy(0);
  window.addEventListener("resize", resize);
  resize();
  showEmpty();
})();
