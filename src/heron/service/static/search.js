// heron search page: POST /v1/search, results with highlighted snippets, filters in the URL.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const form = $("search-form"), q = $("q"), results = $("results"), status = $("status");
  const fields = { index: $("index"), mode: $("mode"), domains: $("domains"), recency: $("recency"), lang: $("language"), max: $("max") };
  let offset = 0, active = -1, lastCount = 0, lastRun = "", seq = 0;

  function setStatus(text, error) { status.textContent = text; status.classList.toggle("error", !!error); }

  // Python str offsets are code points; JS strings are UTF-16, so slice an array of code points.
  function highlighted(text, ranges) {
    const p = document.createElement("p"); p.className = "snippet";
    const cps = Array.from(text); let pos = 0;
    for (const [s, e] of (ranges || []).slice().sort((a, b) => a[0] - b[0])) {
      if (s < pos || e <= s || e > cps.length) continue;
      p.append(cps.slice(pos, s).join(""), heron.el("mark", {}, cps.slice(s, e).join("")));
      pos = e;
    }
    p.append(cps.slice(pos).join(""));
    return p;
  }

  function render(items) {
    results.replaceChildren();
    items.forEach((r, i) => {
      const meta = heron.el("div", {}, heron.el("span", { class: "url" }, r.url || r.doc_id),
        r.date ? heron.el("span", { class: "date" }, r.date) : null);
      const title = heron.el("a", { href: r.url || "#", rel: "noopener noreferrer" }, r.title || r.url || r.doc_id);
      results.append(heron.el("li", { class: "result", "data-rank": String(offset + i + 1), "data-doc-id": r.doc_id },
        heron.el("h3", {}, title), meta, r.snippet ? highlighted(r.snippet, r.highlights) : null));
    });
    active = -1;
  }

  function paramsFromForm() {
    return { q: q.value.trim(), index: fields.index.value, mode: fields.mode.value, domains: fields.domains.value.trim(),
      recency: fields.recency.value, lang: fields.lang.value.trim(), max: fields.max.value, offset: String(offset) };
  }

  function toUrl(p) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(p)) if (v && !(k === "offset" && v === "0") && !(k === "mode" && v === "lexical")) u.set(k, v);
    return "/?" + u.toString();
  }

  function fromUrl() {
    const u = new URLSearchParams(location.search);
    q.value = u.get("q") || "";
    if (u.get("index")) fields.index.value = u.get("index");
    fields.mode.value = u.get("mode") || "lexical";
    fields.domains.value = u.get("domains") || "";
    fields.recency.value = u.get("recency") || "";
    fields.lang.value = u.get("lang") || "";
    fields.max.value = u.get("max") || "10";
    offset = parseInt(u.get("offset") || "0", 10) || 0;
  }

  // push: record the search in the history; force: run even if it is the search on screen.
  async function run(push, force) {
    const p = paramsFromForm();
    if (!p.q) { results.replaceChildren(); setStatus(""); lastRun = ""; return; }
    const url = toUrl(p);
    if (!force && url === lastRun) return;
    lastRun = url;
    const mine = ++seq;
    if (push && url !== location.pathname + location.search) history.pushState(null, "", url);
    const body = { query: p.q, max_results: parseInt(p.max, 10), offset };
    if (p.index) body.index = p.index;
    if (p.mode && p.mode !== "lexical") body.mode = p.mode;
    const domains = p.domains.split(/[\s,]+/).filter(Boolean);
    if (domains.length) body.search_domain_filter = domains;
    if (p.recency) body.search_recency_filter = p.recency;
    if (p.lang) body.search_language_filter = [p.lang.toLowerCase()];
    setStatus("Searching…");
    form.setAttribute("aria-busy", "true");
    try {
      const { data, ms } = await heron.api("POST", "/v1/search", body);
      if (mine !== seq) return; // a newer search was started meanwhile
      render(data.results);
      lastCount = data.results.length;
      const from = lastCount ? offset + 1 : 0;
      setStatus(lastCount ? `Results ${from}–${offset + lastCount} · ${ms.toFixed(1)} ms` : `No results · ${ms.toFixed(1)} ms`);
      $("prev").hidden = offset === 0;
      $("next").hidden = lastCount < body.max_results;
    } catch (e) {
      if (mine !== seq) return;
      lastRun = "";
      results.replaceChildren();
      $("prev").hidden = $("next").hidden = true;
      setStatus(e.message, true);
    } finally {
      form.removeAttribute("aria-busy");
    }
  }

  function move(step) {
    const items = results.querySelectorAll(".result");
    if (!items.length) return;
    if (active >= 0) items[active].classList.remove("active");
    active = Math.max(0, Math.min(items.length - 1, active + step));
    items[active].classList.add("active");
    items[active].querySelector("a").focus();
  }

  async function init() {
    heron.bindKeyInput($("apikey"));
    try {
      const { data } = await heron.api("GET", "/v1/info");
      fields.index.replaceChildren(...data.indexes.map((n) => heron.el("option", { value: n, selected: n === data.default_index }, n)));
      for (const opt of fields.mode.options) {
        opt.disabled = !data.modes.includes(opt.value);
        if (opt.disabled) opt.textContent = opt.value + " (not available)";
      }
    } catch (e) { setStatus("Could not load server info: " + e.message, true); }
    fromUrl();
    form.addEventListener("submit", (ev) => { ev.preventDefault(); offset = 0; run(true, true); });
    for (const f of [fields.index, fields.mode, fields.recency, fields.max]) f.addEventListener("change", () => { offset = 0; if (q.value.trim()) run(true); });
    for (const f of [fields.domains, fields.lang]) f.addEventListener("change", () => { offset = 0; if (q.value.trim()) run(true); });
    $("prev").addEventListener("click", () => { offset = Math.max(0, offset - parseInt(fields.max.value, 10)); run(true); });
    $("next").addEventListener("click", () => { offset += parseInt(fields.max.value, 10); run(true); });
    window.addEventListener("popstate", () => { fromUrl(); run(false, true); });
    document.addEventListener("keydown", (ev) => {
      const typing = ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement;
      if (ev.key === "/" && !typing) { ev.preventDefault(); q.focus(); q.select(); }
      else if (ev.key === "Escape" && ev.target === q) { q.value = ""; results.replaceChildren(); setStatus(""); }
      else if (!typing && (ev.key === "j" || ev.key === "ArrowDown")) { ev.preventDefault(); move(1); }
      else if (!typing && (ev.key === "k" || ev.key === "ArrowUp")) { ev.preventDefault(); move(-1); }
    });
    if (q.value) run(false, true);
  }
  init();
})();
