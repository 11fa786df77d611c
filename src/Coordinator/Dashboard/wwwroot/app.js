// Hivemind dashboard: reads the coordinator's JSON API, redraws when the server-sent event stream says the
// snapshot changed (and every POLL_MS regardless). All text from the API goes in through textContent, never as HTML.
"use strict";
const POLL_MS = 10000;
// Transfers change with every chunk, not with the snapshot: they are read on their own, this often, while the page is open.
const TRANSFER_POLL_MS = 1000;
const PAGE = 25;
const ROUND_TICKS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];
const REASON_COLORS = ["#b91c1c", "#d97706", "#7c3aed", "#0891b2", "#be185d", "#4d7c0f", "#1d4ed8", "#92400e"];
const state = { series: { round: [], evalLoss: [], trainLoss: [], tokens: [] }, optimal: null, roundsOffset: 0, volunteersOffset: 0, lossPlot: null, rejectionPlot: null, rejectionKey: "" };
const $ = (id) => document.getElementById(id);

async function api(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

const fmt = (x, digits = 3) => (x === null || x === undefined || Number.isNaN(x)) ? "–" : Number(x).toFixed(digits);
const int = (x) => Number(x).toLocaleString("en-US");
function bytes(n) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0; while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
function cell(tr, text, cls) { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); return td; }
function time(iso) { return iso ? new Date(iso).toLocaleTimeString() : "–"; }

function renderStatus(s) {
  $("preset").textContent = `model '${s.preset}'`;
  $("t-round").textContent = `${int(s.round)} / v${int(s.version)}` + (s.maxRounds ? ` of ${int(s.maxRounds)}` : "");
  $("t-loss").textContent = fmt(s.lastEvalLoss);
  $("t-gap").textContent = s.optimalLoss !== null && s.lastEvalLoss !== null ? `optimum ${fmt(s.optimalLoss)}, gap ${fmt(s.lastEvalLoss - s.optimalLoss)}` : "";
  $("t-tps").textContent = int(Math.round(s.tokensPerSecond));
  $("t-volunteers").textContent = `${int(s.activeVolunteers)} / ${int(s.volunteers)}`;
  $("t-banned").textContent = `${int(s.bannedVolunteers)} banned, ${int(s.leasedWorkUnits)} units leased`;
  $("t-updates").textContent = `${int(s.acceptedUpdates)} / ${int(s.rejectedUpdates)}`;
  $("t-bytes").textContent = `${bytes(s.bytesReceived)} / ${bytes(s.bytesSent)}`;
  state.optimal = s.optimalLoss;
}

async function refreshSeries() {
  // The last rounds' rows can still change (held-out loss lands after the next round opens), so re-read a short tail.
  const have = state.series.round;
  const from = have.length > 2 ? have[have.length - 3] : 0;
  const tail = await api(`/api/series?from=${from}`);
  const keep = have.findIndex((r) => r >= from);
  for (const key of ["round", "evalLoss", "trainLoss", "tokens"]) {
    const head = keep < 0 ? state.series[key] : state.series[key].slice(0, keep);
    state.series[key] = head.concat(tail[key]);
  }
  state.optimal = tail.optimalLoss;
  drawLoss();
}

function chartWidth(id) { return Math.max(300, $(id).parentElement.clientWidth - 20); }

function drawLoss() {
  const s = state.series;
  const optimum = s.round.map(() => state.optimal);
  const data = [s.round, s.evalLoss, s.trainLoss, optimum];
  const points = s.evalLoss.filter((x) => x !== null).length;
  $("loss-chart").dataset.points = String(points);
  $("loss-note").textContent = state.optimal !== null ? `(dashed: the corpus's exact optimum, ${fmt(state.optimal)})` : "";
  if (!state.lossPlot) {
    state.lossPlot = new uPlot({
      width: chartWidth("loss-chart"), height: 260,
      scales: { x: { time: false } },
      axes: [{ label: "round", incrs: ROUND_TICKS }, { label: "nats / byte" }],
      series: [
        { label: "round" },
        { label: "held-out", stroke: "#2563eb", width: 2, spanGaps: true, points: { show: true, size: 5 } },
        { label: "training (mean of updates)", stroke: "#9ca3af", width: 1, spanGaps: true },
        { label: "optimum", stroke: "#15803d", width: 1, dash: [6, 4], points: { show: false } },
      ],
    }, data, $("loss-chart"));
  } else {
    state.lossPlot.setData(data);
  }
}

async function refreshRejections() {
  const r = await api("/api/rejections");
  const reasons = Object.keys(r.countsByReason);
  $("rejection-empty").style.display = reasons.length ? "none" : "";
  if (!reasons.length) return;
  const data = [r.round, ...reasons.map((k) => r.countsByReason[k])];
  const key = reasons.join(",");
  if (state.rejectionPlot && state.rejectionKey !== key) { state.rejectionPlot.destroy(); state.rejectionPlot = null; }
  if (!state.rejectionPlot) {
    state.rejectionKey = key;
    state.rejectionPlot = new uPlot({
      width: chartWidth("rejection-chart"), height: 200,
      // Same rounds as the loss chart, so the two line up; counts are whole numbers.
      scales: { x: { time: false, range: () => [0, Math.max(1, state.series.round.at(-1) ?? 1)] }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
      axes: [{ label: "round", incrs: ROUND_TICKS }, { label: "rejected updates", incrs: ROUND_TICKS }],
      series: [{ label: "round" }, ...reasons.map((k, i) => ({ label: k, stroke: REASON_COLORS[i % REASON_COLORS.length], width: 2, points: { show: true, size: 7 } }))],
    }, data, $("rejection-chart"));
  } else {
    state.rejectionPlot.setData(data);
  }
}

async function refreshVolunteers() {
  const page = await api(`/api/volunteers?offset=${state.volunteersOffset}&limit=${PAGE}`);
  const body = $("volunteers").tBodies[0];
  body.replaceChildren();
  for (const v of page.items) {
    const tr = document.createElement("tr");
    tr.dataset.volunteer = v.id;
    if (v.banned) tr.className = "banned";
    cell(tr, String(v.rank), "num");
    cell(tr, v.id.slice(0, 12) + "…", "id").title = v.id;
    cell(tr, v.device);
    cell(tr, int(v.credit), "num credit");
    cell(tr, int(v.accepted), "num accepted");
    const rejected = cell(tr, int(v.rejected), "num rejected");
    rejected.title = Object.entries(v.rejectionsByReason).map(([k, n]) => `${k}: ${n}`).join(", ");
    cell(tr, fmt(v.reputation, 2), "num");
    const st = cell(tr, v.banned ? `banned: ${v.banReason ?? ""}` : (v.active ? "active" : "idle"), v.active ? "state-active" : "");
    st.title = v.bannedAt ? `banned at ${new Date(v.bannedAt).toLocaleString()}` : "";
    body.appendChild(tr);
  }
  $("v-page").textContent = page.total ? `${page.offset + 1}–${page.offset + page.items.length} of ${page.total}` : "no volunteers yet";
  $("v-prev").disabled = page.offset === 0;
  $("v-next").disabled = page.offset + page.items.length >= page.total;
}

async function refreshRounds() {
  const page = await api(`/api/rounds?offset=${state.roundsOffset}&limit=${PAGE}`);
  const body = $("rounds").tBodies[0];
  body.replaceChildren();
  for (const r of page.items) {
    const tr = document.createElement("tr");
    tr.dataset.round = String(r.round);
    cell(tr, String(r.round), "num");
    cell(tr, int(r.updates), "num");
    cell(tr, int(r.tokens), "num");
    cell(tr, fmt(r.trainLoss), "num");
    cell(tr, fmt(r.evalLoss), "num");
    const skipped = cell(tr, r.skippedGroups === null ? "–" : String(r.skippedGroups), "num skipped");
    if (r.skippedGroupNames) skipped.title = r.skippedGroupNames;
    cell(tr, fmt(r.aggregationSeconds, 3), "num");
    cell(tr, fmt(r.closeSeconds, 3), "num");
    cell(tr, int(r.rejections), "num");
    cell(tr, r.closedAt ? time(r.closedAt) : "open");
    body.appendChild(tr);
  }
  $("r-page").textContent = `${page.offset + 1}–${page.offset + page.items.length} of ${page.total}`;
  $("r-prev").disabled = page.offset === 0;
  $("r-next").disabled = page.offset + page.items.length >= page.total;
}

async function refreshTransfers() {
  const t = await api("/api/transfers");
  const body = $("transfers").tBodies[0];
  body.replaceChildren();
  for (const x of t.items) {
    const tr = document.createElement("tr");
    tr.dataset.volunteer = x.volunteerId;
    tr.dataset.direction = x.direction;
    cell(tr, x.direction === "upload" ? "↑ update" : "↓ parameters");
    cell(tr, x.volunteerId.slice(0, 12) + "…", "id").title = x.volunteerId;
    cell(tr, x.workUnitId);
    const bar = document.createElement("progress");
    bar.max = Math.max(1, x.totalBytes);
    bar.value = x.bytesDone;
    cell(tr, "").appendChild(bar);
    cell(tr, `${bytes(x.bytesDone)} / ${bytes(x.totalBytes)}`, "num done");
    cell(tr, time(x.startedAt));
    body.appendChild(tr);
  }
  $("transfers-empty").style.display = t.items.length ? "none" : "";
  $("x-summary").textContent = t.items.length ? `${t.uploads} up, ${t.downloads} down: ${bytes(t.bytesDone)} of ${bytes(t.totalBytes)}` : "";
}

let busy = null;
function refreshAll(status) {
  // One refresh at a time; a change that arrives meanwhile is picked up by the next event or poll.
  if (busy) return busy;
  busy = (async () => {
    try {
      renderStatus(status ?? await api("/api/status"));
      await Promise.all([refreshSeries(), refreshRejections(), refreshVolunteers(), refreshRounds(), refreshTransfers()]);
      document.body.dataset.refreshed = String(Date.now());
    } catch (e) {
      console.error(e);
    } finally {
      busy = null;
    }
  })();
  return busy;
}

function connect() {
  const events = new EventSource("/api/events");
  events.addEventListener("snapshot", (e) => { $("live").textContent = "live"; $("live").className = "badge on"; refreshAll(JSON.parse(e.data)); });
  events.onerror = () => { $("live").textContent = "reconnecting…"; $("live").className = "badge off"; };
}

for (const [id, list, delta] of [["v-prev", "volunteersOffset", -PAGE], ["v-next", "volunteersOffset", PAGE], ["r-prev", "roundsOffset", -PAGE], ["r-next", "roundsOffset", PAGE]])
  $(id).addEventListener("click", () => { state[list] = Math.max(0, state[list] + delta); refreshAll(); });
window.addEventListener("resize", () => {
  if (state.lossPlot) state.lossPlot.setSize({ width: chartWidth("loss-chart"), height: 260 });
  if (state.rejectionPlot) state.rejectionPlot.setSize({ width: chartWidth("rejection-chart"), height: 200 });
});
refreshAll();
connect();
setInterval(() => refreshAll(), POLL_MS);
setInterval(() => refreshTransfers().catch((e) => console.error(e)), TRANSFER_POLL_MS);
