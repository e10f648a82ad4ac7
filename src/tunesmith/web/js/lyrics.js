// The lyrics editor: section-tag buttons, tag suggestions after "[", and highlighting.

export const SECTION_TAGS = [
  "Intro", "Verse", "Pre Chorus", "Chorus", "Post Chorus", "Hook", "Bridge", "Interlude",
  "Transition", "Break", "Build Up", "Inst", "Solo", "Outro",
];
// Other spellings the composer reads as the same sections.
const ALIASES = ["prechorus", "postchorus", "buildup", "build", "instrumental", "refrain",
  "breakdown"];
const TAG_LINE = /^\s*\[([^\[\]]*)\]\s*$/;
const OPEN_TAG = /^\s*\[([A-Za-z ]*)$/; // a tag being typed, up to the caret

function squeeze(text) {
  return text.toLowerCase().replace(/[\s_-]+/g, "");
}

/** Whether "[Verse 2]" (without brackets) names a known section. */
export function isKnownTag(inside) {
  const name = squeeze(inside.replace(/\s*\d+\s*$/, ""));
  return SECTION_TAGS.some((t) => squeeze(t) === name) || ALIASES.includes(name);
}

function escapeHtml(text) {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

function paintLine(line) {
  const tag = line.match(TAG_LINE);
  if (tag) {
    const kind = isKnownTag(tag[1]) ? "tag" : "tag unknown";
    return `<mark class="${kind}">${escapeHtml(line)}</mark>`;
  }
  return escapeHtml(line).replace(/\(([^()]*)\)/g, '<span class="backing">($1)</span>');
}

/** Lyrics as HTML with tags and backing vocals marked (used by the editor and the player). */
export function paintLyrics(text) {
  return text.split("\n").map(paintLine).join("\n");
}

/** Sections, sung lines and unknown tags, for the line under the editor. */
export function summarize(text) {
  const lines = text.split("\n");
  const tags = lines.map((l) => l.match(TAG_LINE)).filter(Boolean).map((m) => m[1].trim());
  const sung = lines.filter((l) => l.trim() && !TAG_LINE.test(l)).length;
  return { sections: tags.length, sung, unknown: tags.filter((t) => !isKnownTag(t)) };
}

/** Wire the editor: `textarea`, its paint layer, tag toolbar and suggestion list. */
export function setUpLyricsEditor({ textarea, paint, toolbar, list, summary, limit }) {
  const suggest = new TagSuggestions(textarea, list, () => refresh());

  function refresh() {
    paint.innerHTML = paintLyrics(textarea.value) + "\n";
    paint.scrollTop = textarea.scrollTop;
    summary.textContent = describe(textarea.value, limit);
  }

  for (const tag of SECTION_TAGS) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "tag-button";
    button.textContent = `[${tag}]`;
    button.setAttribute("aria-label", `Insert ${tag} tag`);
    button.addEventListener("click", () => { insertTag(textarea, tag); refresh(); textarea.focus(); });
    toolbar.append(button);
  }
  toolbar.addEventListener("keydown", (e) => moveFocusInToolbar(toolbar, e));
  rovingTabIndex(toolbar, 0);
  textarea.addEventListener("input", () => { refresh(); suggest.update(); });
  textarea.addEventListener("scroll", () => { paint.scrollTop = textarea.scrollTop; });
  textarea.addEventListener("keydown", (e) => suggest.onKey(e));
  textarea.addEventListener("blur", () => suggest.close());
  textarea.addEventListener("click", () => suggest.update());
  refresh();
  return { refresh };
}

function describe(text, limit) {
  if (!text.trim()) return "";
  const { sections, sung, unknown } = summarize(text);
  let line = `${sections} section tag${sections === 1 ? "" : "s"}, ${sung} sung line` +
    `${sung === 1 ? "" : "s"}, ${text.length} / ${limit} characters.`;
  if (unknown.length) line += ` Unknown tag: [${unknown[0]}] — it is read as a section of its own.`;
  if (text.length > limit) line += ` Too long by ${text.length - limit} characters.`;
  return line;
}

/** Put "[Tag]" on a line of its own at the caret and leave the caret on an empty line below. */
export function insertTag(textarea, tag) {
  const { value, selectionStart: at } = textarea;
  const lineStart = lineStartAt(value, at);
  const lineEnd = lineEndAt(value, at);
  if (value.slice(lineStart, lineEnd).trim() === "") {
    textarea.setRangeText(`[${tag}]\n`, lineStart, lineEnd, "end");
  } else {
    textarea.setRangeText(`\n[${tag}]\n`, lineEnd, lineEnd, "end");
  }
}

function lineStartAt(value, at) {
  return at === 0 ? 0 : value.lastIndexOf("\n", at - 1) + 1;
}

function lineEndAt(value, at) {
  const found = value.indexOf("\n", at);
  return found === -1 ? value.length : found;
}

function rovingTabIndex(toolbar, index) {
  [...toolbar.children].forEach((b, i) => { b.tabIndex = i === index ? 0 : -1; });
}

function moveFocusInToolbar(toolbar, event) {
  const buttons = [...toolbar.children];
  const current = buttons.indexOf(document.activeElement);
  const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
  let next = step === undefined ? null : (current + step + buttons.length) % buttons.length;
  if (event.key === "Home") next = 0;
  if (event.key === "End") next = buttons.length - 1;
  if (next === null) return;
  event.preventDefault();
  rovingTabIndex(toolbar, next);
  buttons[next].focus();
}

/** The suggestion list shown while a tag is typed at the start of a line. */
class TagSuggestions {
  constructor(textarea, list, changed) {
    this.textarea = textarea;
    this.list = list;
    this.changed = changed;
    this.matches = [];
    this.active = 0;
    list.addEventListener("mousedown", (e) => e.preventDefault()); // keep the caret
    list.addEventListener("click", (e) => {
      const option = e.target.closest("[role=option]");
      if (option) this.accept(Number(option.dataset.index));
    });
  }

  typedTag() {
    const { value, selectionStart: at, selectionEnd } = this.textarea;
    if (at !== selectionEnd) return null;
    const lineStart = lineStartAt(value, at);
    const match = value.slice(lineStart, at).match(OPEN_TAG);
    return match ? { prefix: match[1], from: value.indexOf("[", lineStart), to: at } : null;
  }

  update() {
    const typed = this.typedTag();
    const needle = typed ? squeeze(typed.prefix) : "";
    this.matches = typed ? SECTION_TAGS.filter((t) => squeeze(t).startsWith(needle)) : [];
    this.active = 0;
    this.render();
  }

  render() {
    const open = this.matches.length > 0;
    this.list.hidden = !open;
    this.textarea.setAttribute("aria-expanded", String(open));
    this.list.replaceChildren(...this.matches.map((tag, i) => {
      const item = document.createElement("li");
      item.id = `tag-option-${i}`;
      item.setAttribute("role", "option");
      item.dataset.index = String(i);
      item.setAttribute("aria-selected", String(i === this.active));
      item.textContent = `[${tag}]`;
      return item;
    }));
    if (open) this.textarea.setAttribute("aria-activedescendant", `tag-option-${this.active}`);
    else this.textarea.removeAttribute("aria-activedescendant");
  }

  onKey(event) {
    if (this.list.hidden) return;
    const count = this.matches.length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      this.active = (this.active + (event.key === "ArrowDown" ? 1 : count - 1)) % count;
      this.render();
    } else if (event.key === "Enter" || event.key === "Tab") {
      this.accept(this.active);
    } else if (event.key === "Escape") {
      this.close();
    } else {
      return;
    }
    event.preventDefault();
  }

  accept(index) {
    const typed = this.typedTag();
    const tag = this.matches[index];
    if (!typed || !tag) return this.close();
    const { value } = this.textarea;
    const lineEnd = lineEndAt(value, typed.to);
    // A stray "]" after the caret belongs to the tag being replaced.
    const to = /^[\s\]]*$/.test(value.slice(typed.to, lineEnd)) ? lineEnd : typed.to;
    this.textarea.setRangeText(`[${tag}]\n`, typed.from, to, "end");
    this.close();
    this.changed();
  }

  close() {
    this.matches = [];
    this.render();
  }
}
