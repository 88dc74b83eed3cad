// rlaif annotate: the pairwise labelling page. Every text from the data is set with
// textContent, never as HTML, so a response holding <script> or markdown shows as text.
"use strict";

const state = { annotator: "", csrf: "", pairs: [], index: 0, shownAt: 0, spent: {} };
const $ = (id) => document.getElementById(id);

function completed() {
  return state.pairs.filter((pair) => pair.label !== null).length;
}

function nextUnmarked(from) {
  const n = state.pairs.length;
  for (let step = 1; step <= n; step++) {
    const i = (from + step) % n;
    if (state.pairs[i].label === null) return i;
  }
  return -1;
}

function setStatus(text, isError) {
  const status = $("status");
  status.textContent = text;
  status.className = isError ? "error" : "";
}

function leavePair() {
  const pair = state.pairs[state.index];
  if (pair && state.shownAt) {
    state.spent[pair.id] = (state.spent[pair.id] || 0) + (performance.now() - state.shownAt) / 1000;
  }
}

function show(index) {
  if (!state.pairs.length) return;
  leavePair();
  state.index = Math.max(0, Math.min(index, state.pairs.length - 1));
  state.shownAt = performance.now();
  const pair = state.pairs[state.index];
  const conversation = $("conversation");
  conversation.replaceChildren();
  for (const turn of pair.turns) {
    const row = document.createElement("div");
    row.className = "turn " + turn.role;
    const role = document.createElement("span");
    role.className = "role";
    role.textContent = turn.role === "user" ? "Human" : turn.role;
    const content = document.createElement("span");
    content.className = "content";
    content.textContent = turn.content;
    row.append(role, content);
    conversation.append(row);
  }
  $("left-text").textContent = pair.left;
  $("right-text").textContent = pair.right;
  const label = pair.label;
  for (const button of document.querySelectorAll("button.rate")) {
    button.classList.toggle("selected", label !== null && Number(button.dataset.rating) === label.rating);
  }
  $("unacceptable").checked = label !== null && label.both_unacceptable;
  $("note").value = label !== null ? label.note : "";
  renderProgress();
}

function renderProgress() {
  const n = state.pairs.length;
  $("completed").textContent = `${completed()}/${n} completed`;
  $("position").textContent = `Sample ${n ? state.index + 1 : 0} of ${n}`;
}

let saving = Promise.resolve();

function rate(rating, advance = true) {
  // Posts go out one after another, so the server stores them in the order they were given.
  const pair = state.pairs[state.index];
  if (!pair) return;
  leavePair();
  state.shownAt = performance.now();
  const body = {
    pair_id: pair.id,
    annotator: state.annotator,
    rating: rating,
    both_unacceptable: $("unacceptable").checked,
    note: $("note").value,
    seconds: state.spent[pair.id] || 0,
  };
  state.spent[pair.id] = 0;
  saving = saving.then(() => save(pair, body, advance));
}

async function save(pair, body, advance) {
  let reply;
  try {
    reply = await fetch("/api/labels", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-RLAIF-CSRF": state.csrf },
      body: JSON.stringify(body),
    });
  } catch (error) {
    setStatus("Not saved: the server cannot be reached.", true);
    return;
  }
  if (!reply.ok) {
    setStatus(`Not saved: ${reply.status} ${await reply.text()}`, true);
    return;
  }
  const saved = await reply.json();
  pair.label = saved.label;
  const index = state.pairs.indexOf(pair);
  setStatus(`Saved sample ${index + 1}.`, false);
  if (state.pairs[state.index] !== pair) {  // the annotator moved on while it was saving
    renderProgress();
    return;
  }
  const next = advance ? nextUnmarked(state.index) : -1;
  if (next >= 0) {
    show(next);
  } else {
    show(state.index);
    if (completed() === state.pairs.length) setStatus(`All ${state.pairs.length} samples completed.`, false);
  }
}

function relabel() {
  // A changed flag or note on a rated pair is saved as a new label (the latest one wins).
  const pair = state.pairs[state.index];
  if (pair && pair.label !== null) rate(pair.label.rating, false);
}

async function start() {
  const params = new URLSearchParams(window.location.search);
  const query = params.get("annotator") ? "?annotator=" + encodeURIComponent(params.get("annotator")) : "";
  const reply = await fetch("/api/session" + query, { credentials: "same-origin" });
  if (!reply.ok) {
    setStatus(`Cannot load the pairs: ${reply.status} ${await reply.text()}`, true);
    return;
  }
  const session = await reply.json();
  state.annotator = session.annotator;
  state.csrf = session.csrf;
  state.pairs = session.pairs;
  $("annotator").textContent = session.annotator;
  $("guidelines").textContent = session.guidelines || "No guidelines were given.";
  const first = state.pairs.findIndex((pair) => pair.label === null);
  show(first >= 0 ? first : 0);
  document.body.dataset.ready = "true";
}

document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (target instanceof HTMLTextAreaElement || (target instanceof HTMLInputElement && target.type !== "checkbox")) {
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (["1", "2", "3", "4"].includes(event.key)) {
    event.preventDefault();
    rate(Number(event.key));
  } else if (event.key === "ArrowRight") {
    event.preventDefault();
    show(state.index + 1);
  } else if (event.key === "ArrowLeft") {
    event.preventDefault();
    show(state.index - 1);
  } else if (event.key === "n") {
    event.preventDefault();
    const next = nextUnmarked(state.index);
    if (next >= 0) show(next);
    else setStatus("Every sample is marked.", false);
  }
});

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button.rate")) {
    button.addEventListener("click", () => rate(Number(button.dataset.rating)));
  }
  $("prev").addEventListener("click", () => show(state.index - 1));
  $("next").addEventListener("click", () => show(state.index + 1));
  $("unmarked").addEventListener("click", () => {
    const next = nextUnmarked(state.index);
    if (next >= 0) show(next);
  });
  $("unacceptable").addEventListener("change", relabel);
  $("note").addEventListener("change", relabel);
  start();
});
