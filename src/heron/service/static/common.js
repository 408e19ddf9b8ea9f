// heron web UI: shared helpers (no dependencies). The API key, if any, stays in sessionStorage.
"use strict";
const heron = (() => {
  const KEY = "heron.apikey";
  function apiKey() { return sessionStorage.getItem(KEY) || ""; }
  function bindKeyInput(input) {
    if (!input) return;
    input.value = apiKey();
    input.addEventListener("change", () => sessionStorage.setItem(KEY, input.value.trim()));
  }
  async function api(method, path, body) {
    const headers = { "accept": "application/json" };
    const key = apiKey();
    if (key) headers["authorization"] = "Bearer " + key;
    if (body !== undefined) headers["content-type"] = "application/json";
    const t0 = performance.now();
    const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const ms = performance.now() - t0;
    let data = null;
    const text = await r.text();
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = { raw: text }; }
    if (!r.ok) {
      const msg = (data && data.error && data.error.message) || ("HTTP " + r.status);
      const err = new Error(msg); err.status = r.status; throw err;
    }
    return { data, ms, requestId: r.headers.get("x-request-id") };
  }
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v; else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }
  function bytes(n) {
    const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : String(n)) + " " + u[i];
  }
  return { api, apiKey, bindKeyInput, el, bytes };
})();
