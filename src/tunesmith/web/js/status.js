// What the page says while a job runs and when a call fails: progress, errors, how to pay.

const $ = (id) => document.getElementById(id);

const NETWORKS = { "eip155:8453": "Base", "eip155:84532": "Base Sepolia" };
const TITLES = {
  0: "The server did not answer",
  400: "The request needs a change",
  402: "Payment required",
  403: "Not allowed",
  404: "Not found",
  409: "Conflict",
  410: "The track has expired",
  413: "The request is too large",
  429: "Too many requests",
  503: "This model is not available here",
  504: "The generation took too long",
};
const FIELD_NAMES = { prompt: "prompt", lyrics: "lyrics", duration_seconds: "duration",
  seed: "seed", model: "model", instrumental: "instrumental" };

export function stageLabel(stage) {
  const text = String(stage || "working").replace(/[_-]+/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Say `text` to screen readers once (the visible progress is not a live region). */
export function announce(text) {
  $("announcer").textContent = text;
}

export class ProgressView {
  constructor() {
    this.panel = $("progress-panel");
    this.bar = $("progress");
    this.text = $("progress-text");
    this.log = $("stage-log");
    this.lastStage = null;
  }

  start() {
    this.panel.hidden = false;
    this.panel.dataset.state = "running";
    this.log.replaceChildren();
    this.lastStage = null;
    this.show({ status: "queued", stage: "submitting", progress: 0 });
  }

  hide() {
    this.panel.hidden = true;
  }

  /** One job view from the event stream or a poll. */
  show(view) {
    const percent = Math.round((view.progress || 0) * 100);
    const waiting = view.status === "queued" && view.queue_position != null
      ? ` (place ${view.queue_position + 1} in the queue)` : "";
    const stage = stageLabel(view.stage);
    this.bar.value = percent;
    this.bar.setAttribute("aria-valuetext", `${stage}, ${percent}%`);
    this.text.textContent = `${stage}${waiting} — ${percent}%`;
    if (view.stage !== this.lastStage) {
      this.lastStage = view.stage;
      this.log.append(Object.assign(document.createElement("li"), { textContent: stage }));
      announce(`${stage}, ${percent}%`);
    }
  }

  end(state, message) {
    this.panel.dataset.state = state;
    if (state === "completed") this.bar.value = 100;
    this.text.textContent = message;
    this.log.append(Object.assign(document.createElement("li"), { textContent: stageLabel(state) }));
    if (state === "completed") {
      const listen = Object.assign(document.createElement("a"), { href: "#player-title",
        textContent: "Go to the player" });
      this.text.append(" ", listen);
    }
    announce(message);
  }
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function command(text) {
  const pre = el("pre", null, "command");
  pre.append(el("code", text));
  return pre;
}

function serverUrl() {
  return new URL(".", document.baseURI).href.replace(/\/$/, "");
}

/** How to pay for a 402: the price and the ways to pay (this page never pays). */
function paymentHelp(error, prompt) {
  const price = error.price || {};
  const network = NETWORKS[price.network] || price.network || "the server's network";
  const currency = price.currency || "USDC";
  const server = serverUrl();
  const quoted = prompt.replace(/["\\$`]/g, "").slice(0, 80) || "chill lo-fi hip hop";
  const box = el("div", null, "payment-help");
  const what = price.usd
    ? `${price.model || "This model"} costs $${price.usd} per track, paid in ${currency} on ${network}.`
    : "This server charges for generations.";
  box.append(
    el("p", `${what} This page holds no wallet, so it cannot pay. Failed and canceled ` +
      "generations are never charged; a model priced free here needs no payment."),
    el("p", `1. Make a wallet, then fund the address it prints with ${currency} on ${network}:`),
    command("tunesmith wallet create"),
    el("p", "2. Generate from the command line; it pays from the wallet within your spend caps:"),
    command(`tunesmith generate "${quoted}" --server ${server} -o track.mp3`),
    el("p", "Or run the local paying router on 127.0.0.1:8402 and send your app's calls there:"),
    command(`tunesmith router --upstream ${server}\n` +
      "curl -X POST http://127.0.0.1:8402/v1/audio/generations \\\n" +
      "  -H 'Content-Type: application/json' -d '{\"prompt\": \"chill lo-fi hip hop\"}'"),
    el("p", "Or pay from Python with the SDK:"),
    command(`Client("${server}", pay=pay_with(Wallet.load("~/.tunesmith/wallet.key")))`),
  );
  return box;
}

/** Show an ApiError (or a failed job's error) in the alert box, and mark the field at fault. */
export function showError(error, { prompt = "" } = {}) {
  clearError();
  const box = $("error");
  const status = error.status ?? 500;
  box.dataset.status = String(status);
  box.append(el("h3", TITLES[status] || (status >= 500 ? "The server could not make the track" : `Error ${status}`)));
  box.append(el("p", error.message, "error-message"));
  const facts = [status ? `HTTP ${status}` : "", error.code && `code ${error.code}`,
    error.param && `field ${error.param}`].filter(Boolean).join(" · ");
  if (facts) box.append(el("p", facts, "hint"));
  if (error.retryAfter) box.append(el("p", `Try again in ${error.retryAfter} s.`));
  if (status === 402) box.append(paymentHelp(error, prompt));
  markField(error.param, box);
  box.hidden = false;
  box.scrollIntoView({ block: "nearest" });
}

function markField(param, box) {
  const name = FIELD_NAMES[String(param || "").split(".")[0]];
  const field = name && $(name);
  if (!field) return;
  field.setAttribute("aria-invalid", "true");
  field.setAttribute("aria-errormessage", "error");
  const fix = el("button", `Go to the ${name} field`, "secondary");
  fix.type = "button";
  fix.addEventListener("click", () => field.focus());
  box.append(fix);
}

export function clearError() {
  const box = $("error");
  box.hidden = true;
  box.replaceChildren();
  for (const field of document.querySelectorAll("[aria-invalid]")) {
    field.removeAttribute("aria-invalid");
    field.removeAttribute("aria-errormessage");
  }
}
