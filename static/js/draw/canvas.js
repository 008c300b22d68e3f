// The drawing pad: pointer strokes kept as fractions of the side, rendered on demand, exported as a PNG.

const EXPORT_SIZE = 280;  // the PNG sent to the server, in pixels of height (a number's pad is wider)
const STROKE = 1 / 14;    // brush width as a fraction of the height: thick enough to survive the shrink to 28x28

const clamp01 = (value) => Math.min(1, Math.max(0, value));

// hooks: beforeStroke(), onInk(), onStrokeEnd(), onRender(hasInk)
export function createPad(canvas, hooks) {
  const ctx = canvas.getContext("2d");
  let strokes = [];           // each stroke: a list of {x, y} in 0..1, so a resize redraws them sharp
  let activePointer = null;   // one pointer at a time: a palm or a second finger does not draw
  let frame = null;
  let aspect = 1;             // width / height: 1 for a digit, wider for a number

  function strokePath(points, width, height) {
    ctx.beginPath();
    ctx.moveTo(points[0].x * width, points[0].y * height);
    // A lone point still needs a segment for the round cap to draw a dot.
    if (points.length === 1) ctx.lineTo(points[0].x * width + 0.01, points[0].y * height);
    // Quadratic curves through the midpoints give smooth, even strokes.
    for (let i = 1; i < points.length - 1; i++) {
      const midX = (points[i].x + points[i + 1].x) / 2, midY = (points[i].y + points[i + 1].y) / 2;
      ctx.quadraticCurveTo(points[i].x * width, points[i].y * height, midX * width, midY * height);
    }
    if (points.length > 1) {
      const last = points[points.length - 1];
      ctx.lineTo(last.x * width, last.y * height);
    }
    ctx.stroke();
  }

  // Black on white whatever the theme: this is what the model is sent.
  function render() {
    frame = null;
    const { width, height } = canvas;
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, width, height);
    ctx.strokeStyle = "#000000";
    ctx.lineWidth = Math.max(2, height * STROKE);
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    strokes.forEach((points) => strokePath(points, width, height));
    hooks.onRender(strokes.length > 0);
  }

  function requestRender() {
    if (frame === null) frame = requestAnimationFrame(render);
  }

  // The backing store follows the device pixels, so strokes stay crisp on high-density screens.
  function resize() {
    const side = Math.round(canvas.getBoundingClientRect().width * (window.devicePixelRatio || 1));
    const height = Math.round(side / aspect);
    if (side > 0 && (canvas.width !== side || canvas.height !== height)) {
      canvas.width = side;
      canvas.height = height;
    }
    render();
  }

  function pointFrom(event) {
    const rect = canvas.getBoundingClientRect();
    return { x: clamp01((event.clientX - rect.left) / rect.width), y: clamp01((event.clientY - rect.top) / rect.height) };
  }

  function down(event) {
    if (activePointer !== null || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    activePointer = event.pointerId;
    try { canvas.setPointerCapture(event.pointerId); } catch (e) { /* synthetic pointers cannot be captured */ }
    hooks.beforeStroke();
    strokes.push([pointFrom(event)]);
    requestRender();
    hooks.onInk();
  }

  // Coalesced events keep the detail of fast strokes that one event per frame would lose.
  function move(event) {
    if (event.pointerId !== activePointer) return;
    event.preventDefault();
    const stroke = strokes[strokes.length - 1];
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    (events.length ? events : [event]).forEach((e) => stroke.push(pointFrom(e)));
    requestRender();
    hooks.onInk();
  }

  function up(event) {
    if (event.pointerId !== activePointer) return;
    activePointer = null;
    hooks.onStrokeEnd();
  }

  canvas.addEventListener("pointerdown", down);
  canvas.addEventListener("pointermove", move);
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
  // Belt and braces for browsers that scroll despite touch-action: none.
  canvas.addEventListener("touchmove", (event) => event.preventDefault(), { passive: false });
  canvas.addEventListener("contextmenu", (event) => event.preventDefault());

  return {
    resize,
    // A new shape (wider for a number) starts a new, empty drawing.
    setAspect(ratio) {
      aspect = ratio;
      strokes = [];
      resize();
    },
    hasInk: () => strokes.length > 0,
    // Takes back the last stroke; false when there was none.
    undo() {
      if (!strokes.length) return false;
      strokes.pop();
      render();
      return true;
    },
    clear() {
      strokes = [];
      render();
    },
    exportPng() {
      const out = document.createElement("canvas");
      out.width = Math.round(EXPORT_SIZE * aspect);
      out.height = EXPORT_SIZE;
      const outCtx = out.getContext("2d");
      outCtx.fillStyle = "#ffffff";
      outCtx.fillRect(0, 0, out.width, out.height);
      outCtx.drawImage(canvas, 0, 0, out.width, out.height);
      return out.toDataURL("image/png");
    },
  };
}
