// The playground page: the form, a job's life from submit to player, and the history list.

import { ApiError, cancelJob, createGeneration, followJob, listModels } from "./api.js";
import { forget, loadHistory, remember } from "./history.js";
import { setUpLyricsEditor } from "./lyrics.js";
import { expiresIn, formatTime, showTrack } from "./player.js";
import { ProgressView, announce, clearError, showError } from "./status.js";

const $ = (id) => document.getElementById(id);
const PROMPT_LIMIT = 2000;
const LYRICS_LIMIT = 3500;
const ACTIVE_JOB = "tunesmith.activeJob";
const CHOSEN_MODEL = "tunesmith.model";

const form = $("make");
const progress = new ProgressView();
let models = [];
let activeJob = null;

// -- the form ---------------------------------------------------------------------------------

function selectedModel() {
  return models.find((m) => m.id === $("model").value);
}

function formatPrice(usd) {
  return usd > 0 ? `$${Number(usd)}` : "free";
}

function modelLabel(model) {
  const price = formatPrice(model.pricing?.per_track ?? 0);
  const state = model.available ? "" : " — unavailable";
  return `${model.id} · ${price}${price === "free" ? "" : " per track"}${state}`;
}

async function loadModels() {
  const select = $("model");
  try {
    models = await listModels();
  } catch (error) {
    select.replaceChildren(new Option("Models could not be loaded"));
    showError(error);
    return;
  }
  select.replaceChildren(...models.map((m) => {
    const option = new Option(modelLabel(m), m.id);
    option.disabled = !m.available;
    return option;
  }));
  const remembered = models.find((m) => m.id === localStorage.getItem(CHOSEN_MODEL) && m.available);
  const first = remembered || models.find((m) => m.available);
  if (first) select.value = first.id;
  select.disabled = false;
  form.dataset.ready = "true";
  onModelChange();
}

function onModelChange() {
  const model = selectedModel();
  if (!model) return;
  localStorage.setItem(CHOSEN_MODEL, model.id);
  const about = (model.description || "").replace(/([^.!?])$/, "$1.");
  const sings = model.supports_lyrics ? "" : "Instrumental only: it does not sing lyrics yet.";
  $("model-info").replaceChildren(`${about} ${sings}`.trim(), unavailableNote());
  const slider = $("duration");
  slider.min = String(model.min_duration_seconds ?? 5);
  slider.max = String(model.max_duration_seconds ?? 240);
  onDurationInput();
  const price = model.pricing?.per_track ?? 0;
  $("price").hidden = !(price > 0);
  $("price").textContent = `Price: ${formatPrice(price)} per track when this server has ` +
    "payments on (it tells you before anything is charged).";
  syncLyrics();
}

/** Which models cannot run here and what the operator would configure, grouped by reason. */
function unavailableNote() {
  const byReason = new Map();
  for (const m of models.filter((m) => !m.available)) {
    byReason.set(m.unavailable_reason, [...(byReason.get(m.unavailable_reason) || []), m.id]);
  }
  if (!byReason.size) return "";
  const details = document.createElement("details");
  const count = [...byReason.values()].flat().length;
  details.append(Object.assign(document.createElement("summary"), {
    textContent: `${count} model${count === 1 ? " is" : "s are"} not available here` }));
  for (const [reason, ids] of byReason) {
    details.append(Object.assign(document.createElement("p"), {
      textContent: `${ids.join(", ")}: ${reason || "not configured"}` }));
  }
  return details;
}

function syncLyrics() {
  const model = selectedModel();
  const instrumental = $("instrumental").checked;
  const canSing = !model || model.supports_lyrics;
  const off = instrumental || !canSing;
  $("lyrics").disabled = off;
  for (const button of document.querySelectorAll(".tag-button")) button.disabled = off;
  $("lyrics-field").classList.toggle("off", off);
  $("lyrics-help").textContent = instrumental
    ? "Lyrics are off: instrumental tracks have no vocals."
    : !canSing
      ? `Lyrics are off: ${model.id} does not sing lyrics yet.`
      : "One sung line per line; a blank line is a pause; (words) are backing vocals. " +
        "Type [ at the start of a line for section tags.";
}

function onDurationInput() {
  const seconds = Number($("duration").value);
  $("duration-out").textContent = `${seconds} s`;
  $("duration").setAttribute("aria-valuetext", `${seconds} seconds (${formatTime(seconds)})`);
}

function onPromptInput() {
  const length = $("prompt").value.trim().length;
  $("prompt-count").textContent = `${length} / ${PROMPT_LIMIT}`;
  $("prompt-count").classList.toggle("over", length > PROMPT_LIMIT);
}

/** The request body, exactly as the API takes it. */
function requestBody() {
  const body = {
    model: $("model").value || undefined,
    prompt: $("prompt").value,
    instrumental: $("instrumental").checked,
    duration_seconds: Number($("duration").value),
  };
  const seed = $("seed").value.trim();
  if (seed !== "") body.seed = Number(seed);
  const lyrics = $("lyrics").value;
  if (!$("lyrics").disabled && lyrics.trim()) body.lyrics = lyrics;
  return body;
}

function fillForm(request, model) {
  if (models.some((m) => m.id === model && m.available)) $("model").value = model;
  onModelChange();
  $("prompt").value = request.prompt || "";
  $("instrumental").checked = Boolean(request.instrumental);
  $("lyrics").value = request.lyrics || "";
  $("lyrics").dispatchEvent(new Event("input"));
  $("duration").value = String(request.duration_seconds || 30);
  $("seed").value = request.seed ?? "";
  onPromptInput();
  onDurationInput();
  syncLyrics();
  $("prompt").focus();
}

// -- a job ------------------------------------------------------------------------------------

function setBusy(busy) {
  $("make-button").disabled = busy;
  $("make-button").textContent = busy ? "Making…" : "Make track";
  $("cancel-button").hidden = !busy;
  $("cancel-button").disabled = false;
  form.setAttribute("aria-busy", String(busy));
}

async function onSubmit(event) {
  event.preventDefault();
  if (activeJob) return;
  clearError();
  const request = requestBody();
  setBusy(true);
  progress.start();
  try {
    const answer = await createGeneration(request);
    if (answer.object === "audio.generation") {
      finished(answer, request);
    } else {
      progress.show(answer);
      await follow({ id: answer.id, model: answer.model, request });
    }
  } catch (error) {
    progress.hide();
    showError(error, { prompt: request.prompt });
    if (error.status === 402 && error.price?.usd) {
      $("price").hidden = false;
      $("price").textContent = `This server charges $${error.price.usd} per track for ${request.model}.`;
    }
  } finally {
    setBusy(false);
  }
}

async function follow(job) {
  activeJob = job;
  sessionStorage.setItem(ACTIVE_JOB, JSON.stringify(job));
  try {
    const view = await followJob(job.id, (v) => progress.show(v));
    if (view.status === "completed") finished(view, job.request);
    else if (view.status === "canceled") progress.end("canceled", "Canceled: nothing was made or charged.");
    else {
      progress.end("failed", "Failed.");
      const error = view.error || {};
      showError({ ...error, status: statusOf(error) }, { prompt: job.request.prompt });
    }
  } finally {
    activeJob = null;
    sessionStorage.removeItem(ACTIVE_JOB);
  }
}

function statusOf(jobError) {
  return { timeout_error: 504, gone_error: 410, service_unavailable_error: 503 }[jobError.type] ?? 500;
}

function finished(result, request) {
  const track = result.data && result.data[0];
  if (!track) {
    progress.end("failed", "The job ended without a track.");
    return;
  }
  const entry = { track, model: result.model, request, created: Date.now() };
  remember(entry);
  progress.end("completed", `Done: ${formatTime(track.duration_seconds)} track ready to play.`);
  play(entry);
  renderHistory();
}

async function onCancel() {
  if (!activeJob) return;
  $("cancel-button").disabled = true;
  progress.text.textContent = "Canceling…";
  try {
    await cancelJob(activeJob.id);
  } catch (error) {
    // 409: it ended first; the event stream reports how.
    if (!(error instanceof ApiError && error.status === 409)) showError(error);
  }
}

function resumeActiveJob() {
  const saved = sessionStorage.getItem(ACTIVE_JOB);
  if (!saved) return;
  const job = JSON.parse(saved);
  setBusy(true);
  progress.start();
  follow(job).catch((error) => { progress.end("failed", "Lost the job."); showError(error); })
    .finally(() => setBusy(false));
}

// -- player and history -----------------------------------------------------------------------

function play(entry) {
  showTrack($("player"), entry, {
    onReuse: (e) => fillForm(e.request, e.model),
    onGone: forgetIfGone,
  });
  markCurrent(entry.track.id);
}

function markCurrent(trackId) {
  for (const item of document.querySelectorAll("#history li")) {
    if (item.dataset.trackId === trackId) item.setAttribute("aria-current", "true");
    else item.removeAttribute("aria-current");
  }
}

/** The audio did not load: drop the entry only if the server says the track is gone. */
async function forgetIfGone(entry) {
  let status = 0;
  try {
    status = (await fetch(entry.track.url, { headers: { Range: "bytes=0-0" } })).status;
  } catch {
    return; // the server is unreachable; the track may still be there
  }
  if (![403, 404, 410].includes(status)) return;
  announce("This track is no longer stored on the server; it was removed from the history.");
  forget(entry.track.id);
  renderHistory();
}

function historyItem(entry) {
  const { track, request = {} } = entry;
  const item = document.createElement("li");
  item.dataset.trackId = track.id;
  const open = document.createElement("button");
  open.type = "button";
  open.className = "history-open";
  const title = document.createElement("span");
  title.className = "history-title";
  title.textContent = request.prompt || track.id;
  const meta = document.createElement("span");
  meta.className = "hint";
  meta.textContent = [track.style, formatTime(track.duration_seconds), expiresIn(track.expires_at)]
    .filter(Boolean).join(" · ");
  open.append(title, meta);
  open.addEventListener("click", () => { play(entry); $("player-title").scrollIntoView(); });
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "secondary small";
  remove.textContent = "Remove";
  remove.setAttribute("aria-label", `Remove ${request.prompt || track.id} from the history`);
  remove.addEventListener("click", () => { forget(track.id); renderHistory(); });
  item.append(open, remove);
  return item;
}

function renderHistory() {
  const entries = loadHistory();
  const list = $("history");
  list.replaceChildren(...entries.map(historyItem));
  if (!entries.length) {
    list.append(Object.assign(document.createElement("li"), { className: "hint empty",
      textContent: "No tracks yet." }));
  }
  const shown = document.querySelector("#player [data-track-id]");
  if (shown) markCurrent(shown.dataset.trackId);
  return entries;
}

// -- start ------------------------------------------------------------------------------------

function start() {
  setUpLyricsEditor({
    textarea: $("lyrics"), paint: $("lyrics-paint"), toolbar: document.querySelector(".tag-bar"),
    list: $("tag-suggestions"), summary: $("lyrics-summary"), limit: LYRICS_LIMIT,
  });
  for (const tip of document.querySelectorAll(".tip")) {
    tip.addEventListener("click", () => {
      $("prompt").value = tip.textContent.trim();
      onPromptInput();
      $("prompt").focus();
    });
  }
  $("model").addEventListener("change", onModelChange);
  $("instrumental").addEventListener("change", syncLyrics);
  $("duration").addEventListener("input", onDurationInput);
  $("prompt").addEventListener("input", onPromptInput);
  $("seed-dice").addEventListener("click", () => {
    $("seed").value = String(crypto.getRandomValues(new Uint32Array(1))[0]);
  });
  $("cancel-button").addEventListener("click", onCancel);
  form.addEventListener("submit", onSubmit);
  const entries = renderHistory();
  if (entries.length) play(entries[0]);
  loadModels().then(resumeActiveJob);
}

start();
