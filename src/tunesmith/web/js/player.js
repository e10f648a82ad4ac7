// The player: one track with its waveform, sections, plan, lyrics and download link.

import { paintLyrics } from "./lyrics.js";

const PEAK_COUNT = 1200;
const SEEK_STEP_S = 5;

export function formatTime(seconds) {
  const s = Math.max(0, Math.round(seconds || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export function expiresIn(expiresAt, now = Date.now()) {
  const minutes = Math.round((expiresAt * 1000 - now) / 60000);
  if (minutes < 1) return "expires any moment";
  if (minutes < 90) return `expires in ${minutes} min`;
  return `expires in ${Math.round(minutes / 60)} h`;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name in node && !name.includes("-")) node[name] = value;
    else node.setAttribute(name, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

/** Min/max pairs of the decoded audio (channels mixed), `count` of them. */
export function peaksOf(buffer, count = PEAK_COUNT) {
  const channels = Array.from({ length: buffer.numberOfChannels }, (_, i) => buffer.getChannelData(i));
  const size = Math.max(1, Math.floor(buffer.length / count));
  const peaks = new Float32Array(count * 2);
  for (let i = 0; i < count; i++) {
    let min = 0, max = 0;
    for (let j = i * size; j < Math.min(buffer.length, (i + 1) * size); j++) {
      let v = 0;
      for (const data of channels) v += data[j];
      v /= channels.length;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    peaks[2 * i] = min;
    peaks[2 * i + 1] = max;
  }
  return peaks;
}

async function decode(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`the track answered ${response.status}`);
  const bytes = await response.arrayBuffer();
  // An offline context decodes without asking to play sound.
  const context = new OfflineAudioContext(1, 1, 44100);
  return context.decodeAudioData(bytes);
}

/** The waveform canvas: a seek slider drawn from the decoded track. */
class Waveform {
  constructor(canvas, audio, duration) {
    this.canvas = canvas;
    this.audio = audio;
    this.duration = duration;
    this.peaks = null;
    canvas.addEventListener("pointerdown", (e) => this.seekTo(this.timeAt(e.offsetX)));
    canvas.addEventListener("keydown", (e) => this.onKey(e));
    for (const name of ["timeupdate", "seeked", "loadedmetadata", "play", "pause"]) {
      audio.addEventListener(name, () => this.update());
    }
    this.observer = new ResizeObserver(() => this.draw());
    this.observer.observe(canvas);
  }

  async load(url) {
    try {
      const buffer = await decode(url);
      this.peaks = peaksOf(buffer);
      this.duration = buffer.duration;
      this.canvas.dataset.state = "drawn";
    } catch (error) {
      this.canvas.dataset.state = "failed";
      this.canvas.setAttribute("aria-description", `waveform unavailable: ${error.message}`);
    }
    this.update();
  }

  timeAt(x) {
    return (x / this.canvas.clientWidth) * this.duration;
  }

  seekTo(seconds) {
    this.audio.currentTime = Math.min(Math.max(0, seconds), this.duration);
    this.update();
  }

  onKey(event) {
    const now = this.audio.currentTime;
    const moves = {
      ArrowRight: now + SEEK_STEP_S, ArrowUp: now + SEEK_STEP_S, ArrowLeft: now - SEEK_STEP_S,
      ArrowDown: now - SEEK_STEP_S, Home: 0, End: this.duration,
    };
    if (event.key in moves) this.seekTo(moves[event.key]);
    else if (event.key === " " || event.key === "Enter") this.toggle();
    else return;
    event.preventDefault();
  }

  toggle() {
    if (this.audio.paused) this.audio.play().catch(() => {});
    else this.audio.pause();
  }

  update() {
    const now = this.audio.currentTime || 0;
    this.canvas.setAttribute("aria-valuemax", String(Math.round(this.duration)));
    this.canvas.setAttribute("aria-valuenow", String(Math.round(now)));
    this.canvas.setAttribute("aria-valuetext", `${formatTime(now)} of ${formatTime(this.duration)}`);
    this.draw();
    if (!this.audio.paused && !this.frame) {
      this.frame = requestAnimationFrame(() => { this.frame = 0; this.update(); });
    }
  }

  draw() {
    const { canvas } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(canvas.clientWidth * ratio);
    const height = Math.round(canvas.clientHeight * ratio);
    if (!width || !height) return;
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, width, height);
    const style = getComputedStyle(canvas);
    const played = (this.audio.currentTime || 0) / (this.duration || 1);
    this.drawPeaks(ctx, width, height, played, style);
    ctx.fillStyle = style.getPropertyValue("--playhead").trim() || "#fff";
    ctx.fillRect(Math.round(played * width), 0, Math.max(1, ratio), height);
  }

  drawPeaks(ctx, width, height, played, style) {
    const middle = height / 2;
    const done = style.getPropertyValue("--wave-played").trim() || "#e0a3ff";
    const todo = style.getPropertyValue("--wave").trim() || "#888";
    if (!this.peaks) {
      ctx.fillStyle = todo;
      ctx.fillRect(0, middle, width, 1);
      return;
    }
    const count = this.peaks.length / 2;
    for (let x = 0; x < width; x++) {
      const i = Math.min(count - 1, Math.floor((x / width) * count));
      const top = middle - this.peaks[2 * i + 1] * middle * 0.95;
      const bottom = middle - this.peaks[2 * i] * middle * 0.95;
      ctx.fillStyle = x / width <= played ? done : todo;
      ctx.fillRect(x, top, 1, Math.max(1, bottom - top));
    }
  }

  destroy() {
    this.observer.disconnect();
    cancelAnimationFrame(this.frame);
  }
}

function sectionsStrip(sections, duration, seek) {
  if (!sections || !sections.length) return null;
  const strip = el("ol", { className: "sections", "aria-label": "Sections (press one to jump to it)" });
  for (const section of sections) {
    const length = Math.max(0, (section.end ?? 0) - (section.start ?? 0));
    const label = String(section.name || "section").replace(/_/g, " ");
    const button = el("button", {
      type: "button", className: `section s-${label.split(" ")[0]}`,
      title: `${label}: ${formatTime(section.start)}–${formatTime(section.end)}`,
    }, label);
    button.addEventListener("click", () => seek(section.start || 0));
    const item = el("li", {}, button);
    item.style.flexGrow = String(length / (duration || 1));
    strip.append(item);
  }
  return strip;
}

const PLAN_LABELS = {
  vocal: "Vocals", style: "Style", bpm: "Tempo", key: "Key", time_signature: "Time signature",
  instruments: "Instruments", seed: "Seed", duration_seconds: "Length",
};
const SKIP = new Set(["url", "id", "lyrics", "sections", "duration_ms", "expires_at"]);

function words(value) {
  return String(value).replace(/_/g, " ");
}

function planValue(name, value) {
  if (name === "bpm") return `${Math.round(value)} BPM`;
  if (name === "duration_seconds") return formatTime(value);
  if (name === "vocal") return vocalSummary(value);
  if (Array.isArray(value)) return value.map((v) => planValue("", v)).join(", ");
  if (value && typeof value === "object") {
    return Object.entries(value).filter(([, v]) => v !== null && typeof v !== "object")
      .map(([k, v]) => `${words(k)}: ${words(v)}`).join("; ");
  }
  return words(value);
}

/** The composer's singing report: voice, whose lyrics, how many lines were sung. */
function vocalSummary(vocal) {
  const sung = vocal.lines_given != null ? `sang ${vocal.lines_sung} of ${vocal.lines_given} lines` : "";
  return [vocal.voice && `${words(vocal.voice)} voice`, vocal.lyrics && `${words(vocal.lyrics)} lyrics`, sung]
    .filter(Boolean).join(", ");
}

/** Every extra field the data[] item carries, so new engine fields show up too. */
function planList(track, model) {
  const list = el("dl", { className: "plan" });
  const add = (label, value) => list.append(el("dt", {}, label), el("dd", {}, value));
  add("Model", model);
  for (const [name, value] of Object.entries(track)) {
    if (SKIP.has(name) || value === null || value === undefined || value === "") continue;
    add(PLAN_LABELS[name] || name.replace(/_/g, " "), planValue(name, value));
  }
  return list;
}

/** A note the engine left for the listener (lyrics cut to fit, for example). */
function engineNote(track) {
  const note = track.vocal && track.vocal.note;
  return note ? el("p", { className: "note", role: "note" }, `Note: ${note}`) : null;
}

function lyricsBlock(lyrics) {
  if (!lyrics) return null;
  const pre = el("pre", { className: "sung-lyrics" });
  pre.innerHTML = paintLyrics(lyrics);
  return el("details", { className: "lyrics-out", open: true },
    el("summary", {}, "Sung lyrics"), pre);
}

let current = null;

/** Show `entry` ({track, model, request}) in `container`; returns the audio element. */
export function showTrack(container, entry, { onReuse, onGone } = {}) {
  if (current) current.destroy();
  const { track, model, request = {} } = entry;
  const title = request.prompt || "Untitled track";
  const duration = (track.duration_ms || track.duration_seconds * 1000) / 1000;
  const audio = el("audio", { controls: true, preload: "metadata", src: track.url,
    "aria-label": `Play ${title}` });
  const canvas = el("canvas", {
    className: "waveform", tabIndex: 0, role: "slider", "aria-valuemin": "0",
    "aria-label": "Waveform and position: arrows seek, space plays or pauses",
  });
  const waveform = new Waveform(canvas, audio, duration);
  current = waveform;
  const download = el("a", { href: track.url, download: `tunesmith-${track.id}.mp3`,
    className: "button secondary" }, "Download MP3");
  const reuse = el("button", { type: "button", className: "secondary" }, "Use these settings");
  reuse.addEventListener("click", () => onReuse && onReuse(entry));
  audio.addEventListener("error", () => onGone && onGone(entry));
  const card = el("article", { className: "track", "data-track-id": track.id },
    el("h3", { className: "track-title" }, title),
    el("p", { className: "hint" }, `${formatTime(duration)} · seed ${track.seed} · ` +
      expiresIn(track.expires_at)),
    canvas,
    sectionsStrip(track.sections, duration, (t) => waveform.seekTo(t)),
    audio,
    el("div", { className: "actions" }, download, reuse),
    planList(track, model),
    engineNote(track),
    lyricsBlock(track.lyrics));
  container.replaceChildren(card);
  waveform.load(track.url);
  return audio;
}
