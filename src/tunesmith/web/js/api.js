// The public HTTP API as the page uses it: models, jobs, their event stream, cancel.
// Paths are relative to the page, so a server behind a path prefix works too.

const FINAL_EVENTS = ["completed", "failed", "canceled"];
const POLL_MS = 1000;

/** An answer with the error envelope {"error": {message, type, code, param}}. */
export class ApiError extends Error {
  constructor(status, error = {}, headers = new Headers()) {
    super(error.message || `the server answered ${status}`);
    this.status = status;
    this.type = error.type || "";
    this.code = error.code || "";
    this.param = error.param || null;
    this.price = error.price || null;
    this.retryAfter = headers.get("Retry-After");
  }
}

function apiUrl(path) {
  return new URL(path, document.baseURI).href;
}

async function readBody(response) {
  const text = await response.text();
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    return { error: { message: text.slice(0, 300) } };
  }
}

async function request(method, path, { body, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(apiUrl(path), init);
  } catch (cause) {
    throw new ApiError(0, { message: `could not reach the server (${cause.message}); is ` +
      "`tunesmith serve` still running?", code: "network_error" });
  }
  const data = await readBody(response);
  if (!response.ok) throw new ApiError(response.status, data.error, response.headers);
  return { status: response.status, data };
}

function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Every model with its price and availability. */
export async function listModels() {
  return (await request("GET", "v1/models")).data.data;
}

/** Start a generation; answers the job (202) or, rarely, the finished generation (200). */
export async function createGeneration(body) {
  const headers = { Prefer: "respond-async", "Idempotency-Key": randomKey() };
  return (await request("POST", "v1/audio/generations", { body, headers })).data;
}

export async function getJob(id) {
  return (await request("GET", `v1/audio/generations/${encodeURIComponent(id)}`)).data;
}

export async function cancelJob(id) {
  return (await request("DELETE", `v1/audio/generations/${encodeURIComponent(id)}`)).data;
}

/**
 * Follow a job to its end through its Server-Sent Events (polling if the stream breaks).
 * Calls onProgress(view) for every change; resolves with the final job view.
 */
export function followJob(id, onProgress) {
  return new Promise((resolve, reject) => {
    const path = `v1/audio/generations/${encodeURIComponent(id)}/events`;
    const events = new EventSource(apiUrl(path));
    let failures = 0;
    const finish = (view) => { events.close(); resolve(view); };
    events.addEventListener("progress", (e) => { failures = 0; onProgress(JSON.parse(e.data)); });
    for (const name of FINAL_EVENTS) {
      events.addEventListener(name, (e) => finish(JSON.parse(e.data)));
    }
    events.addEventListener("error", () => {
      failures += 1;
      if (events.readyState === EventSource.CLOSED || failures >= 3) {
        events.close();
        pollJob(id, onProgress).then(resolve, reject);
      }
    });
  });
}

/** The fallback when the event stream is not available: poll until the job ends. */
async function pollJob(id, onProgress) {
  for (;;) {
    const view = await getJob(id);
    if (FINAL_EVENTS.includes(view.status)) return view;
    onProgress(view);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
