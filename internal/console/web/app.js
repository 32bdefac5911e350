// iem console: field checks as each field is left, the selection table,
// the dashboard. No build step; every check is the server's.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const side = document.body.dataset.side;
  const $ = (id) => document.getElementById(id);
  // Secrets are settings by their file: the error names the file's setting.
  const alias = { "password-file": "password", "directory-password-file": "directory-password", "always-trust": "trust-cert", "passphrase-file": "passphrase" };

  async function post(path, data) {
    const r = await fetch(path, { method: "POST", headers: { "X-CSRF-Token": csrf }, body: data || new URLSearchParams() });
    if (!r.ok) { return { message: await r.text() }; }
    return r.json();
  }

  const form = document.querySelector("form.step");
  const touched = {};
  function formData() {
    const d = new URLSearchParams();
    for (const el of form.elements) {
      if (!el.name || (el.type === "radio" && !el.checked)) continue;
      d.append(el.name, el.value);
    }
    return d;
  }
  // show marks the field the error names (red, with the message beside
  // it) and clears the others; an error of another step's field goes to
  // the banner.
  function show(res, all) {
    for (const f of document.querySelectorAll(".field.invalid")) f.classList.remove("invalid");
    for (const e of document.querySelectorAll(".error")) e.textContent = "";
    const banner = $("banner");
    banner.hidden = true;
    if (!res.message) return true;
    const name = alias[res.field] || res.field || "";
    const el = name && document.querySelector('.field[data-field="' + name + '"]');
    if (el && (all || touched[name])) {
      el.classList.add("invalid");
      $("e-" + name).textContent = res.message;
      const input = el.querySelector("input,select,textarea");
      if (input) input.setAttribute("aria-invalid", "true");
      return false;
    }
    if (el) return true; // a field not left yet: checked when it is
    banner.textContent = (res.field ? res.field + ": " : "") + res.message;
    banner.hidden = false;
    return false;
  }
  async function validate(all) {
    for (const i of form.querySelectorAll("[aria-invalid]")) i.removeAttribute("aria-invalid");
    const body = document.body.dataset;
    body.pending = (body.pending | 0) + 1;
    const res = await post("/" + side + "/validate?step=" + form.dataset.validate, formData());
    body.pending = body.pending - 1;
    for (const el of form.querySelectorAll('input[type="password"]')) {
      if (el.value) { el.value = ""; el.placeholder = "saved (not shown); type to replace"; }
    }
    document.body.dataset.checked = (document.body.dataset.checked | 0) + 1;
    return show(res, all);
  }
  if (form && form.id !== "selection") {
    form.addEventListener("focusout", (ev) => {
      const f = ev.target.closest(".field");
      if (!f) return;
      touched[f.dataset.field] = true;
      validate(false);
    });
    form.addEventListener("change", (ev) => {
      if (ev.target.type === "radio" || ev.target.tagName === "SELECT") {
        touched[ev.target.closest(".field").dataset.field] = true;
        validate(false);
      }
    });
    form.addEventListener("submit", (ev) => ev.preventDefault());
  }
  const next = $("next");
  if (next && form && form.id !== "selection") {
    next.addEventListener("click", async (ev) => {
      ev.preventDefault();
      if (await validate(true)) location.href = next.dataset.next;
    });
  }

  const connect = $("connect");
  if (connect) {
    connect.addEventListener("click", async () => {
      const d = formData();
      if (d.get("trust") === "pin") d.set("pin", "1");
      $("connect-info").textContent = "checking with the servers…";
      const res = await post("/" + side + "/connect", d);
      $("connect-info").textContent = res.info || "";
      const cert = /certificate of .*/.exec(res.info || "");
      if (cert) $("cert-info").textContent = cert[0];
      show(res, true);
      document.body.dataset.connected = res.message ? "error" : "ok";
    });
  }

  for (const [id, path] of [["save", "/save"], ["start-run", "/run"]]) {
    const b = $(id);
    if (!b) continue;
    b.addEventListener("click", async () => {
      const res = await post("/" + side + path, formData());
      $("save-info").textContent = res.info || "";
      if (show(res, true) && path === "/run") location.href = "/" + side + "/run";
    });
  }

  // The selection: one page of rows at a time, filtered by the server.
  const rows = $("dir-rows");
  if (rows) {
    let offset = 0;
    const limit = 100;
    let timer;
    async function load() {
      const p = new URLSearchParams({ q: $("q").value, type: $("kind").value, offset: offset, limit: limit });
      const r = await (await fetch("/" + side + "/directory?" + p)).json();
      rows.replaceChildren();
      for (const row of r.rows) {
        const tr = document.createElement("tr");
        const cb = document.createElement("input");
        cb.type = "checkbox";
        cb.checked = row.selected;
        cb.setAttribute("aria-label", "export " + row.address);
        cb.addEventListener("change", () => pick({ address: row.address, on: cb.checked ? "1" : "0" }));
        const td = document.createElement("td");
        td.append(cb);
        tr.append(td);
        for (const t of [row.address, row.name, row.type + (row.type === "group" ? " (" + row.members + ")" : "")]) {
          const c = document.createElement("td");
          c.textContent = t;
          tr.append(c);
        }
        rows.append(tr);
      }
      $("page-info").textContent = r.total ? (r.offset + 1) + "–" + (r.offset + r.rows.length) + " of " + r.total : "nothing matches";
      $("sel-count").textContent = r.selected + " mailboxes selected";
      document.body.dataset.loaded = (document.body.dataset.loaded | 0) + 1;
    }
    async function pick(data) {
      const res = await post("/" + side + "/select", new URLSearchParams(data));
      show(res, true);
      await load();
    }
    $("q").addEventListener("input", () => { clearTimeout(timer); offset = 0; timer = setTimeout(load, 150); });
    $("kind").addEventListener("change", () => { offset = 0; load(); });
    $("select-all").addEventListener("click", () => pick({ all: "1", on: "1", q: $("q").value, type: $("kind").value }));
    $("select-none").addEventListener("click", () => pick({ all: "1", on: "0", q: $("q").value, type: $("kind").value }));
    $("prev-page").addEventListener("click", () => { offset = Math.max(0, offset - limit); load(); });
    $("next-page").addEventListener("click", () => { offset += limit; load(); });
    load();
  }

  // The dashboard: the run's state on every change (server-sent events).
  const dash = $("dashboard");
  if (dash) {
    const hist = $("history-box");
    let histKey = null, histSeq = 0;
    async function refreshHistory() {
      const seq = ++histSeq;
      const r = await fetch(hist.dataset.history);
      if (!r.ok || seq !== histSeq) return;
      hist.innerHTML = await r.text(); // html/template output of the server
      hist.dataset.refreshed = seq;
    }
    const es = new EventSource(dash.dataset.events);
    es.onmessage = (ev) => {
      const st = JSON.parse(ev.data);
      $("run-state").textContent = st.state || "no run";
      $("run-message").textContent = st.message || "";
      const mb = (b) => (b / 1e6).toFixed(1);
      $("run-totals").textContent = st.state ? st.rows.length + " mailboxes, " + st.items + " items, " + mb(st.bytes) + " MB, " +
        Math.round(st.seconds) + " s" + (st.seconds > 0 ? ", " + (st.items / st.seconds).toFixed(1) + " items/s" : "") : "";
      const tb = $("run-rows");
      if (tb) {
        tb.replaceChildren();
        for (const r of st.rows) {
          const tr = document.createElement("tr");
          tr.dataset.mailbox = r.mailbox;
          for (const [t, cls] of [[r.mailbox], [r.state, "state-" + r.state], [r.folder || ""], [r.total > r.items ? r.items + "/" + r.total : r.items], [mb(r.bytes)], [r.rate ? r.rate.toFixed(1) : ""], [r.eta || ""], [r.reason || ""]]) {
            const td = document.createElement("td");
            td.textContent = t;
            if (cls) td.className = cls;
            tr.append(td);
          }
          tb.append(tr);
        }
      }
      if ($("run-summary")) $("run-summary").textContent = st.summary || "";
      if ($("report-link")) $("report-link").hidden = !st.report;
      dash.dataset.state = st.state || "";
      // The table of every round, redrawn by the server when the run
      // starts or ends or a mailbox changes state.
      const key = (st.state || "") + "|" + st.rows.map((r) => r.mailbox + "=" + r.state).join(",");
      if (hist && key !== histKey) {
        const first = histKey === null;
        histKey = key;
        if (!first) refreshHistory();
      }
    };
    const stop = $("stop-run");
    if (stop) stop.addEventListener("click", async () => { const r = await post("/" + side + "/stop"); $("run-message").textContent = r.info || r.message; });
  }
})();
