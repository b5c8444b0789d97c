import HooklineLag

/// The page at `GET /`: plain HTML, CSS and JavaScript, no build step and nothing fetched from
/// elsewhere. It polls `/api/status` every two seconds and draws one row per consumer group and
/// per topic, each with an inline SVG chart of the last minutes. It keeps the charts itself and
/// asks only for the points after the last report it has (`?since=`).
enum MonitorPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hookline monitor</title>
<style>
  :root { --bg:#f5f6f8; --card:#fff; --ink:#1d2330; --muted:#6b7385; --line:#e3e6ec;
          --ok:#1f9d55; --warn:#d69e2e; --stalled:#dd6b20; --stopped:#c53030; --rewind:#805ad5; --accent:#2b6cb0; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--ink); }
  header { background:#1d2330; color:#fff; padding:14px 28px; display:flex; align-items:baseline; gap:18px; }
  header h1 { font-size:18px; margin:0; font-weight:600; letter-spacing:.2px; }
  header .meta { color:#aab2c5; font-size:13px; }
  header .meta b { color:#fff; font-weight:500; }
  main { padding:20px 28px; max-width:1280px; }
  .summary { display:flex; gap:14px; margin-bottom:18px; flex-wrap:wrap; }
  .tile { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:10px 16px; min-width:150px; }
  .tile .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.5px; }
  .tile .value { font-size:22px; font-weight:600; font-variant-numeric:tabular-nums; }
  .tile .detail { color:var(--muted); font-size:12px; }
  .tile .down { color:var(--stopped); font-size:12px; }
  section { background:var(--card); border:1px solid var(--line); border-radius:8px; margin-bottom:20px; overflow:hidden; }
  section h2 { font-size:14px; margin:0; padding:10px 16px; border-bottom:1px solid var(--line); background:#fafbfc; }
  table { width:100%; border-collapse:collapse; table-layout:fixed; }
  col.c1 { width:30%; } col.c2 { width:14%; } col.c3 { width:14%; } col.c4 { width:14%; }
  th, td { text-align:left; padding:8px 16px; border-bottom:1px solid var(--line); vertical-align:middle; }
  th { color:var(--muted); font-weight:500; font-size:12px; text-transform:uppercase; letter-spacing:.4px; }
  td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
  tr:last-child td { border-bottom:none; }
  tr.parts td { background:#fafbfc; color:var(--muted); font-size:12px; padding:4px 16px 8px 36px; }
  .name { font-weight:600; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
  .sub { color:var(--muted); font-size:12px; }
  .badge { display:inline-block; min-width:72px; text-align:center; padding:2px 8px; border-radius:10px; color:#fff; font-size:12px; font-weight:600; letter-spacing:.4px; }
  .OK { background:var(--ok); } .WARN { background:var(--warn); } .STALLED { background:var(--stalled); }
  .STOPPED { background:var(--stopped); } .REWIND { background:var(--rewind); }
  .nocommit { color:var(--muted); font-style:italic; }
  tr.parts .topic { color:var(--ink); }
  svg.spark { display:block; }
  .empty { padding:14px 16px; color:var(--muted); }
  .error { background:#fff5f5; color:var(--stopped); border:1px solid #fed7d7; padding:8px 14px; border-radius:8px; margin-bottom:16px; display:none; }
  footer { color:var(--muted); font-size:12px; padding:0 28px 24px; }
</style>
</head>
<body>
<header>
  <h1>Hookline monitor</h1>
  <span class="meta">updated <b id="updated">never</b></span>
  <span class="meta">window <b id="window">–</b></span>
  <span class="meta">end offsets at <b id="isolation">–</b></span>
</header>
<main>
  <div class="error" id="error"></div>
  <div class="error" id="stale"></div>
  <div class="error" id="unreadable"></div>
  <div class="error" id="absent"></div>
  <div class="summary">
    <div class="tile"><div class="label">Groups</div><div class="value" id="group-count">–</div></div>
    <div class="tile"><div class="label">Not OK</div><div class="value" id="bad-count">–</div></div>
    <div class="tile"><div class="label">Total lag</div><div class="value" id="total-lag">–</div></div>
    <div class="tile"><div class="label">Topics</div><div class="value" id="topic-count">–</div></div>
    <div class="tile" id="gateway-tile" style="display:none"><div class="label">Gateway 2xx / 4xx / 5xx</div><div class="value" id="gateway-traffic">–</div><div class="detail" id="gateway-in-flight"></div><div class="down" id="gateway-down"></div></div>
  </div>
  <section>
    <h2>Consumer groups</h2>
    <table id="groups">
      <colgroup><col class="c1"><col class="c2"><col class="c3"><col class="c4"><col></colgroup>
      <thead><tr><th>Group</th><th>Status</th><th class="num">Lag</th><th class="num">Time lag</th><th>Lag, last minutes</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section>
    <h2>Topics</h2>
    <table id="topics">
      <colgroup><col class="c1"><col class="c2"><col class="c3"><col class="c4"><col></colgroup>
      <thead><tr><th>Topic</th><th class="num">Partitions</th><th class="num">End offset</th><th class="num">Messages/s</th><th>Rate, last minutes</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
</main>
<footer>Status: OK · WARN lag grew across the window · STALLED offsets not moving, members present · STOPPED offsets not moving, no members · REWIND an offset went back.</footer>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;","'":"&#39;"}[c]));
const num = (n) => n == null ? "–" : Number(n).toLocaleString("en-US");
function ago(seconds, lowerBound) {
  if (seconds == null) return "–";
  const s = Math.round(seconds);
  const text = s < 90 ? s + " s" : s < 5400 ? Math.round(s / 60) + " min" : (s / 3600).toFixed(1) + " h";
  return (lowerBound ? "≥ " : "") + text;
}
function spark(points, color) {
  const w = 220, h = 36;
  if (!points || points.length < 2) return `<svg class="spark" width="${w}" height="${h}"></svg>`;
  const t0 = points[0].t, t1 = points[points.length - 1].t, max = Math.max(1, ...points.map(p => p.v));
  const x = (t) => t1 === t0 ? 0 : (t - t0) / (t1 - t0) * (w - 2) + 1;
  const y = (v) => h - 2 - v / max * (h - 14);
  const line = points.map((p, i) => (i ? "L" : "M") + x(p.t).toFixed(1) + " " + y(p.v).toFixed(1)).join(" ");
  const area = line + ` L${x(t1).toFixed(1)} ${h - 1} L${x(t0).toFixed(1)} ${h - 1} Z`;
  return `<svg class="spark" data-points="${points.length}" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">` +
    `<path d="${area}" fill="${color}" fill-opacity="0.12"/><path d="${line}" fill="none" stroke="${color}" stroke-width="1.6"/>` +
    `<text x="${w - 2}" y="10" text-anchor="end" font-size="9" fill="#6b7385">${num(max)}</text></svg>`;
}
function rates(points) {
  const out = [];
  for (let i = 1; i < points.length; i++) {
    const dt = points[i].t - points[i - 1].t;
    if (dt > 0) out.push({ t: points[i].t, v: Math.max(0, (points[i].v - points[i - 1].v) / dt) });
  }
  return out;
}
const colors = { OK: "#1f9d55", WARN: "#d69e2e", STALLED: "#dd6b20", STOPPED: "#c53030", REWIND: "#805ad5" };
// A group's partitions, a line per topic: those with records or a commit one by one, the
// empty ones that were never committed as a count (a topic of 6 partitions that has seen one
// webhook is otherwise mostly "no commit").
function partitionLines(partitions) {
  const topics = new Map();
  for (const p of partitions) {
    if (!topics.has(p.topic)) topics.set(p.topic, []);
    topics.get(p.topic).push(p);
  }
  return [...topics].map(([topic, ps]) => {
    const idle = (p) => p.committed == null && p.end === 0 && p.status === "OK";
    const empty = ps.filter(idle).map((p) => p.partition);
    const shown = ps.filter((p) => !idle(p)).map((p) =>
      `[${p.partition}] ` + (p.committed == null ? `<span class="nocommit">no commit</span> of ${num(p.end)}` :
        `${num(p.committed)}/${num(p.end)} lag ${num(p.lag)}`) + (p.status !== "OK" ? ` <b>${p.status}</b>` :
        !p.judged ? ` <span class="nocommit judging" title="fewer than the window's seconds of looks: not judged yet">judging</span>` : ""));
    if (empty.length) {
      shown.push(`<span class="nocommit" title="partition${empty.length === 1 ? "" : "s"} ${empty.join(", ")}: no records, no commit">${empty.length} empty</span>`);
    }
    return `<span class="topic">${esc(topic)}</span> ${shown.join(" · ")}`;
  }).join("<br>");
}
function renderGroups(groups) {
  const body = $("groups").tBodies[0];
  if (!groups.length) { body.innerHTML = `<tr><td colspan="5" class="empty">No consumer groups.</td></tr>`; return; }
  body.innerHTML = groups.map((g) => {
    const lag = g.lag == null ? `<span class="nocommit">no commit</span>` : num(g.lag);
    const lower = g.partitions.some((p) => p.lag_seconds_is_lower_bound && p.lag_seconds === g.lag_seconds);
    const parts = partitionLines(g.partitions);
    return `<tr class="group" data-group="${esc(g.group)}" data-status="${g.status}" data-lag="${g.lag == null ? "" : g.lag}">` +
      `<td><div class="name">${esc(g.group)}</div><div class="sub">${esc(g.state)} · ${g.members} member${g.members === 1 ? "" : "s"}</div></td>` +
      `<td><span class="badge ${g.status}">${g.status}</span></td>` +
      `<td class="num">${lag}</td><td class="num">${ago(g.lag_seconds, lower)}</td>` +
      `<td>${spark(g.history, colors[g.status])}</td></tr>` +
      (parts ? `<tr class="parts"><td colspan="5">${parts}</td></tr>` : "");
  }).join("");
}
function renderTopics(topics) {
  const body = $("topics").tBodies[0];
  if (!topics.length) { body.innerHTML = `<tr><td colspan="5" class="empty">No topics.</td></tr>`; return; }
  body.innerHTML = topics.map((t) => {
    const end = t.partitions.reduce((a, p) => a + p.end, 0);
    const rate = t.messages_per_second == null ? "–" : t.messages_per_second.toFixed(1);
    return `<tr class="topic" data-topic="${esc(t.topic)}"><td class="name">${esc(t.topic)}</td>` +
      `<td class="num">${t.partitions.length}</td><td class="num">${num(end)}</td><td class="num">${rate}</td>` +
      `<td>${spark(rates(t.history), "#2b6cb0")}</td></tr>`;
  }).join("");
}
// The charts, by "g:<group>" and "t:<topic>": the first poll gets them whole, later ones only the
// points after the last report's time, appended here and trimmed to the chart's span.
const charts = new Map();
let since = null;
function chart(key, points, now, span) {
  const kept = charts.get(key) || [];
  const last = kept.length ? kept[kept.length - 1].t : -Infinity;
  const all = kept.concat(points.filter((p) => p.t > last)).filter((p) => now - p.t <= span);
  charts.set(key, all);
  return all;
}
function keepCharts(report, span) {
  const keys = new Set();
  // A group or topic the page has not seen (new, or back from expiry) has its history only in
  // a whole report: ask for one next time.
  let partial = false;
  const series = report.groups.map((g) => ["g:" + g.group, g]).concat(report.topics.map((t) => ["t:" + t.topic, t]));
  for (const [key, item] of series) {
    if (since != null && !charts.has(key)) partial = true;
    item.history = chart(key, item.history, report.taken_at, span);
    keys.add(key);
  }
  for (const key of [...charts.keys()]) if (!keys.has(key)) charts.delete(key);
  since = partial ? null : report.taken_at;
}
// Polls that failed in a row: the next waits twice as long for each, up to 30 s.
let failures = 0;
async function refresh() {
  try {
    const asked = since;
    // 10 s for the answer to begin, then a minute for its body (a whole report of hundreds of
    // topics is megabytes, on a slow link too): a poll that hangs is given up, and the next asked.
    const controller = new AbortController();
    let timer = setTimeout(() => controller.abort(), 10000);
    let status;
    try {
      const response = await fetch(asked == null ? "/api/status" : "/api/status?since=" + asked,
        { cache: "no-store", signal: controller.signal });
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(), 60000);
      status = await response.json();
    } finally {
      clearTimeout(timer);
    }
    failures = 0;
    document.body.dataset.polls = Number(document.body.dataset.polls || 0) + 1;
    if (asked != null) document.body.dataset.partialPolls = Number(document.body.dataset.partialPolls || 0) + 1;
    $("error").style.display = status.error ? "block" : "none";
    $("error").textContent = status.error ? "Last snapshot failed: " + status.error : "";
    // No success for three intervals (when /readyz turns 503), or none since the monitor started:
    // what is shown is that old, whether the looks fail or hang. Measured on the monitor's clock.
    const lastGood = status.last_success_at ?? status.started_at;
    const age = lastGood == null ? null : status.served_at - lastGood;
    const stale = age != null && age > 3 * status.interval_seconds;
    $("stale").style.display = stale ? "block" : "none";
    $("stale").dataset.age = stale ? Math.round(age) : "";
    $("stale").textContent = !stale ? "" : status.last_success_at == null
      ? `No snapshot has succeeded in the ${Math.round(age)} s since the monitor started (it looks every ${status.interval_seconds} s).`
      : `No snapshot has succeeded for ${Math.round(age)} s (the monitor looks every ${status.interval_seconds} s): what is shown is as of then.`;
    // The gateways first: while the broker is out of reach, no snapshot comes, and their 503s
    // are what matters.
    if (status.gateways.length) {
      const sum = (c) => status.gateways.reduce((a, g) => a + (g.requests[c] || 0), 0);
      $("gateway-tile").style.display = "block";
      $("gateway-traffic").textContent = `${num(sum("2xx"))} / ${num(sum("4xx"))} / ${num(sum("5xx"))}`;
      const inFlight = status.gateways.reduce((a, g) => a + g.in_flight, 0);
      $("gateway-in-flight").dataset.inFlight = inFlight;
      $("gateway-in-flight").textContent = `${num(inFlight)} awaiting the broker`;
      const down = status.gateways.filter((g) => !g.up);
      $("gateway-down").dataset.down = down.length;
      $("gateway-down").textContent = down.length ? `${down.length} of ${status.gateways.length} not answering` : "";
      $("gateway-down").title = down.map((g) => g.error || g.url).join("\n");
    }
    const report = status.lag;
    if (!report) { $("updated").textContent = "waiting for the first snapshot"; return; }
    $("updated").textContent = new Date(report.taken_at * 1000).toLocaleTimeString();
    $("window").textContent = report.window_seconds + " s";
    $("isolation").textContent = report.isolation_level;
    keepCharts(report, status.chart_seconds);
    $("group-count").textContent = report.groups.length;
    $("bad-count").textContent = report.groups.filter((g) => g.status !== "OK").length;
    $("total-lag").textContent = num(report.groups.reduce((a, g) => a + (g.lag || 0), 0));
    $("topic-count").textContent = report.topics.length;
    // Partitions whose leader is down: the rest is measured, these are missing from the tables.
    // Groups whose coordinator is down: shown as at their last look.
    const unread = report.unreadable || [], unreadGroups = report.unreadable_groups || [];
    const said = [];
    if (unread.length) said.push(`${unread.length} partition${unread.length === 1 ? "" : "s"} left out of the last look, ` +
      `their end offset could not be read: ` + unread.map((u) => `${u.topic}[${u.partition}] (${u.error})`).join(", "));
    if (unreadGroups.length) said.push(`${unreadGroups.length} group${unreadGroups.length === 1 ? "" : "s"} could not be read at the last look, ` +
      `shown as at the one before: ` + unreadGroups.map((u) => `${u.group} (${u.error})`).join(", "));
    $("unreadable").style.display = said.length ? "block" : "none";
    $("unreadable").dataset.count = unread.length + unreadGroups.length;
    $("unreadable").textContent = said.join(". ");
    // Configured services whose group has no member and no commit: nothing of theirs to judge.
    const absent = report.absent_groups || [];
    $("absent").style.display = absent.length ? "block" : "none";
    $("absent").dataset.count = absent.length;
    $("absent").textContent = absent.length ? `${absent.length} configured group${absent.length === 1 ? " has" : "s have"} no member ` +
      `and no commit (\#(LagReport.absentReason)): ` + absent.join(", ") : "";
    renderGroups(report.groups);
    renderTopics(report.topics);
    document.body.dataset.loaded = "true";
  } catch (error) {
    failures += 1;
    $("error").style.display = "block";
    $("error").textContent = "The monitor does not answer: " + error;
  }
}
// The next poll is asked for only once this one is done: a slow answer never has another
// queued behind it.
async function poll() {
  await refresh();
  setTimeout(poll, Math.min(30000, 2000 * 2 ** failures));
}
poll();
</script>
</body>
</html>
"""#
}
