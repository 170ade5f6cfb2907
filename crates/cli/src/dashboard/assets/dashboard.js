// The Espell dashboard page: polls api/state every second and draws the instances, the
// update timeline and the latency chart (hand-written SVG, no library), and sends the
// actions. Every text from the server goes into the page as text, never as markup.
"use strict";

const TOKEN = new URLSearchParams(location.search).get("token") || "";
const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#2e6fbd", "#d35400", "#8e44ad", "#16a085", "#c0392b", "#7f8c8d"];
const OUTCOME_COLORS = {
  "committed": "#1f8a4c", "rolled back": "#c0392b", "not applied": "#c0392b", "error": "#c0392b",
  "would commit": "#2e6fbd", "would roll back": "#9b59b6",
};
let state = null;
let targetsFor = -1;
let scriptsShown = "";

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function api(path) {
  return path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN);
}

function duration(ms) {
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  return (d ? d + " d " : "") + (d || h ? h + " h " : "") + (d || h || m ? m + " min " : "") + s + " s";
}

function clock(t) {
  return new Date(t).toLocaleTimeString([], { hour12: false });
}

function instanceName(i) {
  return "#" + (i.index + 1) + " " + i.socket.split("/").pop();
}

function outcomeClass(o) {
  return "outcome-" + o.replace(/ /g, "-");
}

function renderInstances() {
  const box = document.getElementById("instances");
  box.replaceChildren();
  for (const i of state.instances) {
    const card = el("div", { class: "card" + (i.up ? "" : " down"), id: "instance-" + i.index });
    card.append(el("h3", {}, instanceName(i), " ", el("small", {}, i.up ? "up" : "down")));
    const dl = el("dl");
    const row = (k, v, cls) => dl.append(el("dt", {}, k), el("dd", cls ? { class: cls } : {}, v));
    row("socket", i.socket);
    if (i.error) row("problem", i.error);
    if (i.uptimeMs !== undefined) {
      row("uptime", duration(i.uptimeMs));
      row("processes", String(i.processes.length));
      row("GC", i.gc.collections + " collections, " + i.gc.totalMs.toFixed(1) + " ms in total, longest " +
        i.gc.longestMs.toFixed(2) + " ms; " + i.gc.objects + " objects");
      row("digest", i.digest, "digest");
      const last = i.events.length ? i.events[i.events.length - 1] : null;
      row("last update", last ? clock(last.at) + " " + last.kind + " " + baseName(last.file) + ": " + last.outcome : "none");
    }
    if (i.statsError) row("/stats", i.statsError);
    card.append(dl);
    if (i.processes && i.processes.length) {
      const table = el("table", { class: "processes" },
        el("thead", {}, el("tr", {}, el("th", {}, "id"), el("th", {}, "prio"), el("th", {}, "state"), el("th", {}, "where"))));
      const body = el("tbody");
      for (const p of i.processes) {
        body.append(el("tr", {}, el("td", {}, p.id), el("td", {}, p.priority), el("td", {}, p.state),
          el("td", { class: "where" }, p.where)));
      }
      table.append(body);
      card.append(el("details", {}, el("summary", {}, "processes and where they wait"), table));
    }
    box.append(card);
  }
  const fleet = document.getElementById("fleet");
  const n = state.instances.length;
  if (state.digestsAgree === true) {
    fleet.className = "badge ok"; fleet.textContent = "fleet of " + n + ": digests agree";
  } else if (state.digestsAgree === false) {
    fleet.className = "badge bad"; fleet.textContent = "fleet of " + n + ": digests DIFFER";
  } else {
    const up = state.instances.filter(i => i.up).length;
    fleet.className = "badge" + (up === n ? " ok" : " bad");
    fleet.textContent = up + " of " + n + " instance(s) answering";
  }
  document.getElementById("clock").textContent = clock(state.now);
}

function allEvents() {
  const events = [];
  for (const i of state.instances) {
    for (const e of i.events || []) events.push(Object.assign({ instance: i }, e));
  }
  events.sort((a, b) => a.at - b.at);
  return events;
}

function renderHistory(events) {
  const body = document.querySelector("#history tbody");
  body.replaceChildren();
  for (const e of events.slice().reverse()) {
    body.append(el("tr", { class: "event", "data-outcome": e.outcome },
      el("td", {}, clock(e.at)), el("td", {}, instanceName(e.instance)), el("td", {}, e.kind),
      el("td", { class: outcomeClass(e.outcome) }, e.outcome), el("td", { title: e.file }, baseName(e.file)),
      el("td", { class: "num" }, e.quiescenceMs.toFixed(3)), el("td", { class: "num" }, e.scriptMs.toFixed(3)),
      el("td", { class: "num" }, e.commitMs.toFixed(3)), el("td", {}, e.summary)));
  }
  if (!events.length) body.append(el("tr", {}, el("td", { colspan: "9" }, "no updates yet")));
}

// The x scale shared by both charts: since the first sample or update (at least the
// last minute, at most the last ten).
function timeWindow(events) {
  const end = state.now;
  let start = end - 60 * 1000;
  for (const i of state.instances) if (i.latency.length) start = Math.min(start, i.latency[0][0]);
  if (events.length) start = Math.min(start, events[0].at - 5000);
  return [Math.max(start, end - 10 * 60 * 1000), end];
}

function baseName(file) {
  return file.split("/").pop();
}

function axisTimes(g, x0, x1, t0, t1, y) {
  const span = t1 - t0;
  const steps = [5e3, 1e4, 3e4, 6e4, 12e4, 3e5, 6e5, 18e5];
  const step = steps.find(s => span / s <= 8) || 36e5;
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
    const x = x0 + (t - t0) / span * (x1 - x0);
    g.append(svg("line", { x1: x, x2: x, y1: y, y2: y + 4, stroke: "#999" }));
    g.append(svg("text", { x: x, y: y + 15, "font-size": 10, "text-anchor": "middle", fill: "#666" }, clock(t)));
  }
}

function renderTimeline(events) {
  const box = document.getElementById("timeline-chart");
  const lanes = state.instances.length;
  const W = 1000, laneH = 70, top = 10, left = 150, right = 980;
  const H = top + lanes * laneH + 34;
  const root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "update timeline" });
  const [t0, t1] = timeWindow(events);
  const xOf = t => left + (t - t0) / (t1 - t0) * (right - left);
  const maxPause = Math.max(1, ...events.map(e => e.quiescenceMs + e.scriptMs + e.commitMs));
  state.instances.forEach((inst, k) => {
    const y = top + k * laneH;
    root.append(svg("rect", { x: left, y: y, width: right - left, height: laneH - 6, fill: k % 2 ? "#fafbfc" : "#f3f5f8" }));
    root.append(svg("text", { x: 6, y: y + laneH / 2, "font-size": 12, fill: "#333" }, instanceName(inst)));
  });
  for (const e of events) {
    if (e.at < t0) continue;
    const k = e.instance.index;
    const base = top + k * laneH + laneH - 12;
    const x = xOf(e.at);
    const g = svg("g", { class: "timeline-event" });
    g.append(svg("title", {}, clock(e.at) + " " + e.kind + " " + e.file + ": " + e.outcome +
      "\nquiescence wait " + e.quiescenceMs.toFixed(3) + " ms, script " + e.scriptMs.toFixed(3) +
      " ms, commit " + e.commitMs.toFixed(3) + " ms\n" + e.summary));
    let yy = base;
    const parts = [[e.quiescenceMs, "#f1c40f"], [e.scriptMs, "#2e6fbd"], [e.commitMs, "#1d2330"]];
    for (const [ms, color] of parts) {
      const h = ms / maxPause * (laneH - 24);
      if (h > 0) g.append(svg("rect", { x: x - 4, y: yy - h, width: 8, height: Math.max(h, 0.5), fill: color }));
      yy -= h;
    }
    g.append(svg("circle", { cx: x, cy: base + 4, r: 4, fill: OUTCOME_COLORS[e.outcome] || "#666" }));
    root.append(g);
  }
  const axis = svg("g");
  axisTimes(axis, left, right, t0, t1, top + lanes * laneH - 4);
  root.append(axis);
  const legend = [["quiescence wait", "#f1c40f"], ["script", "#2e6fbd"], ["commit", "#1d2330"],
    ["committed", "#1f8a4c"], ["rolled back / not applied", "#c0392b"], ["dry run", "#2e6fbd"]];
  let lx = left;
  for (const [name, color] of legend) {
    root.append(svg("rect", { x: lx, y: H - 9, width: 9, height: 9, fill: color }));
    root.append(svg("text", { x: lx + 12, y: H - 1, "font-size": 10, fill: "#444" }, name));
    lx += 20 + name.length * 6;
  }
  root.append(svg("text", { x: right, y: H - 1, "font-size": 10, "text-anchor": "end", fill: "#666" },
    "tallest bar: " + maxPause.toFixed(2) + " ms"));
  box.replaceChildren(root);
}

function renderLatency(events) {
  const box = document.getElementById("latency-chart");
  const note = document.getElementById("latency-note");
  const W = 1000, H = 260, left = 60, right = 980, top = 10, bottom = 220;
  const withStats = state.instances.filter(i => i.statsUrl);
  if (!withStats.length) {
    box.replaceChildren();
    note.textContent = "No instance exposes its latency: give `--stats http://HOST:PORT/stats` after each --to (examples/webapp answers /stats).";
    return;
  }
  const [t0, t1] = timeWindow(events);
  let maxMs = 1;
  for (const i of withStats) for (const s of i.latency) if (s[0] >= t0) maxMs = Math.max(maxMs, s[2] / 1000);
  maxMs = niceCeil(maxMs);
  const xOf = t => left + (t - t0) / (t1 - t0) * (right - left);
  const yOf = ms => bottom - Math.min(ms, maxMs) / maxMs * (bottom - top);
  const root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "request latency" });
  for (let k = 0; k <= 4; k++) {
    const ms = maxMs * k / 4, y = yOf(ms);
    root.append(svg("line", { x1: left, x2: right, y1: y, y2: y, stroke: "#eceef2" }));
    root.append(svg("text", { x: left - 6, y: y + 4, "font-size": 10, "text-anchor": "end", fill: "#666" }, fmtMs(ms)));
  }
  root.append(svg("text", { x: 12, y: top + 100, "font-size": 11, fill: "#444", transform: "rotate(-90 12 " + (top + 100) + ")" }, "latency (ms)"));
  for (const e of events) {
    if (e.at < t0 || e.kind === "dry-run") continue;
    const x = xOf(e.at);
    const color = OUTCOME_COLORS[e.outcome] || "#666";
    const g = svg("g", { class: "update-marker" });
    g.append(svg("title", {}, clock(e.at) + " " + e.kind + " " + e.file + ": " + e.outcome));
    g.append(svg("line", { x1: x, x2: x, y1: top, y2: bottom, stroke: color, "stroke-dasharray": "4 3" }));
    g.append(svg("text", { x: x + 3, y: top + 10, "font-size": 10, fill: color }, e.kind === "revert" ? "revert" : baseName(e.file)));
    root.append(g);
  }
  withStats.forEach((inst, k) => {
    const color = COLORS[inst.index % COLORS.length];
    const pts = inst.latency.filter(s => s[0] >= t0);
    const line = (col, dash) => {
      if (pts.length < 1) return;
      const d = pts.map(s => xOf(s[0]).toFixed(1) + "," + yOf(s[col] / 1000).toFixed(1)).join(" ");
      const attrs = { points: d, fill: "none", stroke: color, "stroke-width": dash ? 1 : 2 };
      if (dash) attrs["stroke-dasharray"] = "2 2";
      root.append(svg("polyline", attrs));
    };
    line(2, true);
    line(1, false);
    root.append(svg("text", { x: left + 10 + k * 220, y: H - 4, "font-size": 11, fill: color },
      instanceName(inst) + ": mean (solid), largest (dotted)"));
  });
  const axis = svg("g");
  axisTimes(axis, left, right, t0, t1, bottom);
  root.append(axis);
  box.replaceChildren(root);
  const last = withStats.map(i => {
    const s = i.latency[i.latency.length - 1];
    return s ? instanceName(i) + ": " + fmtMs(s[1] / 1000) + " mean, " + fmtMs(s[2] / 1000) + " largest, " + s[3].toFixed(1) + " requests/s" : instanceName(i) + ": no sample yet";
  });
  note.textContent = "Last second — " + last.join("; ") + ". Latency is the server's own: from a request's first byte to its answer.";
}

function niceCeil(x) {
  const p = Math.pow(10, Math.floor(Math.log10(x)));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

function fmtMs(ms) {
  return ms >= 10 ? ms.toFixed(0) + " ms" : ms >= 1 ? ms.toFixed(1) + " ms" : ms.toFixed(2) + " ms";
}

function renderControls() {
  if (targetsFor !== state.instances.length) {
    targetsFor = state.instances.length;
    const box = document.getElementById("targets");
    box.replaceChildren("Instances: ");
    for (const i of state.instances) {
      const cb = el("input", { type: "checkbox", id: "target-" + i.index, value: String(i.index) });
      cb.checked = true;
      box.append(el("label", {}, cb, " " + instanceName(i)), " ");
    }
  }
  const names = state.scripts.join("\n");
  if (names !== scriptsShown) {
    scriptsShown = names;
    const select = document.getElementById("script-select");
    const chosen = select.value;
    select.replaceChildren(el("option", { value: "" }, "(none: use the text below)"));
    for (const n of state.scripts) select.append(el("option", { value: n }, n));
    select.value = state.scripts.includes(chosen) ? chosen : "";
  }
}

function render() {
  renderInstances();
  const events = allEvents();
  renderHistory(events);
  renderTimeline(events);
  renderLatency(events);
  renderControls();
}

async function poll() {
  try {
    const r = await fetch(api("api/state"), { cache: "no-store" });
    if (r.ok) {
      state = await r.json();
      render();
      document.body.dataset.polls = String(Number(document.body.dataset.polls || 0) + 1);
    } else {
      document.getElementById("fleet").textContent = "dashboard answered " + r.status;
    }
  } catch (e) {
    document.getElementById("fleet").textContent = "dashboard unreachable";
  }
  setTimeout(poll, 1000);
}

async function act(kind) {
  const targets = [...document.querySelectorAll("#targets input:checked")].map(c => c.value);
  const pick = document.getElementById("script-select").value;
  const text = document.getElementById("script-text").value;
  const file = document.getElementById("script-file").files[0];
  const params = new URLSearchParams({ kind: kind, instances: targets.join(",") });
  if (kind !== "revert") {
    if (pick) params.set("pick", pick);
    else params.set("name", file ? file.name : "pasted.som");
  }
  const answer = document.getElementById("answer");
  const buttons = document.querySelectorAll("#actions button");
  buttons.forEach(b => b.disabled = true);
  document.getElementById("busy").textContent = kind + "…";
  answer.textContent = "";
  answer.dataset.state = "busy";
  try {
    const r = await fetch(api("api/action?" + params), { method: "POST", body: pick || kind === "revert" ? "" : text });
    answer.textContent = await r.text();
  } catch (e) {
    answer.textContent = "the dashboard did not answer: " + e;
  }
  answer.dataset.state = "done";
  buttons.forEach(b => b.disabled = false);
  document.getElementById("busy").textContent = "";
}

document.getElementById("script-file").addEventListener("change", ev => {
  const f = ev.target.files[0];
  if (!f) return;
  f.text().then(t => {
    document.getElementById("script-text").value = t;
    document.getElementById("script-select").value = "";
  });
});
document.getElementById("dry-run").addEventListener("click", () => act("dry-run"));
document.getElementById("apply").addEventListener("click", () => act("apply"));
document.getElementById("revert").addEventListener("click", () => act("revert"));
poll();
