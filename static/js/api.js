// The REST API client the pages share: session cookie, Django's CSRF token, and the API's {"detail", "code"} errors.

const POLL_FIRST_MS = 200;
const POLL_MAX_MS = 2000;
const POLL_LIMIT_MS = 60000;

export class ApiError extends Error {
  constructor(status, body) {
    const detail = (body && body.detail) || `The server answered ${status}.`;
    super(detail);
    this.status = status;
    this.code = (body && body.code) || `http_${status}`;
    this.detail = detail;
  }
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  // Without a readable cookie, the token Django rendered into the page still works.
  const field = document.querySelector("input[name=csrfmiddlewaretoken]");
  return field ? field.value : "";
}

// Addresses are resolved against the collection's URL, so an id is never spliced into a string.
function collection(base) {
  return new URL(base, document.baseURI);
}

function member(base, id, rest = "") {
  return new URL(`./${encodeURIComponent(id)}/${rest}`, collection(base)).href;
}

function encode(body) {
  const headers = { "Accept": "application/json", "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" };
  if (body === undefined || body instanceof FormData) return { headers, payload: body };
  headers["Content-Type"] = "application/json";
  return { headers, payload: JSON.stringify(body) };
}

function parse(text) {
  try { return text ? JSON.parse(text) : null; } catch (e) { return null; }
}

async function request(method, url, body, { keepalive = method !== "POST" && method !== "GET" } = {}) {
  const { headers, payload } = encode(body);
  // keepalive: a delete or correction sent just before leaving the page still arrives.
  let response;
  try {
    response = await fetch(url, { method, headers, body: payload, credentials: "same-origin", keepalive });
  } catch (e) {
    throw new ApiError(0, { detail: "Could not reach the server. Check your connection.", code: "network" });
  }
  const location = response.headers.get("Location");
  if (response.status === 204) return { status: 204, data: null, location };
  const data = parse(await response.text());
  if (!response.ok) throw new ApiError(response.status, data);
  return { status: response.status, data, location };
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// A worker may still be predicting: back off gently, and give up after a minute.
async function pollUntilDone(url) {
  const started = Date.now();
  let delay = POLL_FIRST_MS;
  for (;;) {
    await sleep(delay);
    const next = await request("GET", url);
    if (next.data.status !== "pending") return next.data;
    if (Date.now() - started > POLL_LIMIT_MS) {
      throw new ApiError(504, { detail: "The prediction is taking too long. Try again.", code: "timeout" });
    }
    delay = Math.min(delay * 1.5, POLL_MAX_MS);
  }
}

// POST a submission; a 202 (still pending) is polled at its Location until it is done.
export async function submit(base, body) {
  const answer = await request("POST", new URL("?wait=10", collection(base)).href, body);
  if (answer.data && answer.data.status !== "pending") return answer.data;
  return pollUntilDone(answer.location || member(base, answer.data.id));
}

// label: a digit 0-9, or null for "not a digit".
export function correct(base, id, label) {
  return request("PUT", member(base, id, "correction/"), { label });
}

// A number's correction: {number: "2026"} for the whole of it, or {position, label} for one digit.
export function correctNumber(base, id, body) {
  return request("PUT", member(base, id, "correction/"), body);
}

export function withdraw(base, id) {
  return request("DELETE", member(base, id, "correction/"));
}

export function remove(base, id) {
  return request("DELETE", member(base, id));
}

// A prediction that stores nothing: the answer of a submission without its id (while someone draws).
export async function preview(url, body) {
  return (await request("POST", new URL(url, document.baseURI).href, body)).data;
}

// Store a submission as the page goes away: keepalive lets the request outlive the page; nobody reads the answer.
export function keepOnLeave(base, body) {
  request("POST", new URL("?wait=0", collection(base)).href, body, { keepalive: true }).catch(() => { /* gone */ });
}
