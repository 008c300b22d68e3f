// The page's other ways in: toolbar buttons, keyboard shortcuts, file picker, drag-and-drop and paste.

// actions: undo(), clear(), predict(), correct(label: a digit, or null for "not a digit"), predictFile(file)
export function wireInputs(doc, actions) {
  wireToolbar(doc, actions);
  wireFilePicker(doc.getElementById("file-input"), actions.predictFile);
  doc.addEventListener("keydown", (event) => onKey(event, actions));
  wireDrop(doc, doc.getElementById("drop-zone"), actions.predictFile);
  doc.addEventListener("paste", (event) => onPaste(event, actions.predictFile));
}

function wireToolbar(doc, actions) {
  doc.getElementById("undo").addEventListener("click", actions.undo);
  doc.getElementById("clear").addEventListener("click", actions.clear);
  doc.getElementById("predict").addEventListener("click", actions.predict);
}

function wireFilePicker(input, predictFile) {
  input.addEventListener("change", () => {
    predictFile(input.files[0]);
    // Emptied so that picking the same file again is a change too.
    input.value = "";
  });
}

// Keys typed into form fields are the field's, not shortcuts.
function typing(target) {
  return target && (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName));
}

function onKey(event, actions) {
  if (typing(event.target)) return;
  if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "z") {
    event.preventDefault();
    actions.undo();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (/^[0-9]$/.test(event.key)) {
    event.preventDefault();
    actions.correct(Number(event.key));
  } else if (event.key === "n" || event.key === "N") {
    event.preventDefault();
    actions.correct(null);
  } else if (event.key === "Escape" || event.key === "Backspace") {
    event.preventDefault();
    actions.clear();
  }
}

function carriesFiles(event) {
  return Boolean(event.dataTransfer) && Array.from(event.dataTransfer.types || []).includes("Files");
}

// A picture dropped anywhere on the page is recognised (and never opened in place of the page).
function wireDrop(doc, dropZone, predictFile) {
  let depth = 0;  // dragenter and dragleave fire for every child crossed, so count them
  doc.addEventListener("dragenter", (event) => {
    if (!carriesFiles(event)) return;
    depth += 1;
    dropZone.classList.add("dragging");
  });
  doc.addEventListener("dragover", (event) => {
    if (carriesFiles(event)) event.preventDefault();
  });
  doc.addEventListener("dragleave", (event) => {
    if (!carriesFiles(event)) return;
    depth = Math.max(0, depth - 1);
    if (!depth) dropZone.classList.remove("dragging");
  });
  doc.addEventListener("drop", (event) => {
    depth = 0;
    dropZone.classList.remove("dragging");
    const files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length) return;
    event.preventDefault();
    predictFile(files[0]);
  });
}

function onPaste(event, predictFile) {
  const items = Array.from((event.clipboardData && event.clipboardData.items) || []);
  const picture = items.find((item) => item.kind === "file" && item.type.indexOf("image/") === 0);
  if (!picture) return;
  event.preventDefault();
  predictFile(picture.getAsFile());
}
