// heron admin page: health, traffic from the server's own /metrics, indexes, settings.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  let previous = null; // {t, searches} of the last metrics sample

  // Prometheus text format → [{name, labels, value}] (enough for heron's own metrics).
  function parseMetrics(text) {
    const out = [];
    for (const line of text.split("\n")) {
      if (!line || line[0] === "#") continue;
      const m = line.match(/^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/);
      if (!m) continue;
      const labels = {};
      if (m[3]) for (const kv of m[3].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[kv[1]] = kv[2];
      out.push({ name: m[1], labels, value: parseFloat(m[4]) });
    }
    return out;
  }
  const sum = (rows, pred) => rows.filter(pred).reduce((a, r) => a + r.value, 0);
  const isSearch = (r) => r.labels.route === "/search" || r.labels.route === "/v1/search";

  // Quantile from cumulative histogram buckets (linear inside the bucket, as Prometheus does).
  function quantile(q, buckets) {
    if (!buckets.length) return NaN;
    const total = buckets[buckets.length - 1].count;
    if (!total) return NaN;
    const rank = q * total;
    let prevLe = 0, prevCount = 0;
    for (const b of buckets) {
      if (b.count >= rank) {
        if (!isFinite(b.le)) return prevLe;
        return prevLe + (b.le - prevLe) * ((rank - prevCount) / Math.max(1, b.count - prevCount));
      }
      prevLe = b.le; prevCount = b.count;
    }
    return prevLe;
  }
  const ms = (s) => isNaN(s) ? "–" : (s * 1000).toFixed(2) + " ms";

  async function refreshMetrics() {
    const r = await fetch("/metrics");
    const rows = parseMetrics(await r.text());
    const reqs = rows.filter((x) => x.name === "heron_http_requests_total");
    const searches = sum(reqs, isSearch);
    $("m-requests").textContent = `${sum(reqs, () => true)} total, ${searches} searches`;
    const now = performance.now();
    if (previous) {
      const qps = (searches - previous.searches) / ((now - previous.t) / 1000);
      $("m-qps").textContent = qps.toFixed(1) + " /s";
    } else { $("m-qps").textContent = "measuring…"; }
    previous = { t: now, searches };
    const byLe = new Map();
    for (const x of rows) {
      if (x.name !== "heron_http_request_duration_seconds_bucket" || !isSearch(x)) continue;
      const le = x.labels.le === "+Inf" ? Infinity : parseFloat(x.labels.le);
      byLe.set(le, (byLe.get(le) || 0) + x.value);
    }
    const buckets = [...byLe.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }));
    $("m-latency").textContent = [0.5, 0.95, 0.99].map((p) => ms(quantile(p, buckets))).join(" / ");
    const e4 = sum(reqs, (x) => x.labels.status && x.labels.status[0] === "4");
    const e5 = sum(reqs, (x) => x.labels.status && x.labels.status[0] === "5");
    $("m-errors").textContent = `${e4} / ${e5}`;
    const stages = {};
    for (const x of rows) {
      if (x.name === "heron_search_stage_seconds_sum") stages[x.labels.stage] = { sum: x.value, count: (stages[x.labels.stage] || {}).count };
      if (x.name === "heron_search_stage_seconds_count") stages[x.labels.stage] = { sum: (stages[x.labels.stage] || {}).sum, count: x.value };
    }
    const parts = Object.entries(stages).filter(([, v]) => v.count).map(([k, v]) => `${k} ${ms(v.sum / v.count)}`);
    $("m-stages").textContent = parts.length ? parts.join(" · ") : "no searches yet";
  }

  async function refreshIndexes() {
    const { data } = await heron.api("GET", "/v1/indexes");
    const body = $("indexes").tBodies[0];
    const num = (v) => heron.el("td", { class: "num" }, String(v));
    body.replaceChildren(...data.indexes.map((i) => heron.el("tr", { "data-index": i.name },
      heron.el("th", { scope: "row" }, i.name), num(i.doc_count), num(i.deleted_count), num(i.segment_count),
      heron.el("td", { class: "num" }, heron.bytes(i.size_bytes)), num(i.generation), num(i.pending_writes),
      heron.el("td", {}, i.path || "(in memory)"))));
    const sel = $("settings-index");
    const names = data.indexes.map((i) => i.name);
    if ([...sel.options].map((o) => o.value).join() !== names.join()) {
      const keep = sel.value;
      sel.replaceChildren(...names.map((n) => heron.el("option", { value: n, selected: n === keep }, n)));
      showSettings();
    }
  }

  async function showSettings() {
    const name = $("settings-index").value;
    if (!name) { $("settings").textContent = ""; return; }
    const { data } = await heron.api("GET", "/v1/indexes/" + encodeURIComponent(name));
    $("settings").textContent = JSON.stringify({ settings: data.settings, fields: data.fields }, null, 2);
  }

  async function refreshHealth() {
    const live = await fetch("/healthz"); $("live").textContent = live.ok ? "yes" : "no (" + live.status + ")";
    $("live").className = live.ok ? "ok" : "bad";
    const ready = await fetch("/readyz"); $("ready").textContent = ready.ok ? "yes" : "no (" + ready.status + ")";
    $("ready").className = ready.ok ? "ok" : "bad";
    const { data } = await heron.api("GET", "/v1/info");
    $("version").textContent = data.version;
    const s = Math.round(data.uptime_s);
    $("uptime").textContent = `${Math.floor(s / 3600)} h ${Math.floor(s / 60) % 60} min ${s % 60} s`;
    $("modes").textContent = data.modes.join(", ");
    $("access").textContent = data.auth_required ? "API keys required" : "open (no API keys configured)";
  }

  async function tick() {
    const errors = [];
    for (const f of [refreshHealth, refreshMetrics, refreshIndexes]) {
      try { await f(); } catch (e) { errors.push(e.message); }
    }
    $("status").textContent = errors.length ? "Errors: " + errors.join("; ") : "Updated " + new Date().toLocaleTimeString();
    $("status").classList.toggle("error", errors.length > 0);
  }

  heron.bindKeyInput($("apikey"));
  $("settings-index").addEventListener("change", () => showSettings().catch((e) => { $("settings").textContent = e.message; }));
  tick();
  setInterval(tick, 2000);
})();
