// svcflow dashboard: a page over the gateway's REST API on the same origin. The browser's TLS
// client certificate is the caller, so every call acts as that user and the page shows exactly
// what the API lets them see. No framework and no build step: the gateway serves this file as is.
//
// Everything from the API reaches the page as text nodes (never as markup), so a record's or a
// file's contents can never become script.

const PAGE_SIZE = 20;
const ROLES = ["client", "admin", "peer", "orderer", "member"];
const view = document.getElementById("view");
const knownMsps = new Set();
let me = null; // WhoAmI, once known
let refreshers = []; // reloads of the current view's lists, run when one of its events commits
let current = { project: null, phase: null };

// ---- DOM --------------------------------------------------------------------------------------

/** h("tag.class", {attrs, on: {event: fn}}, ...children): children are nodes or text. */
function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag);
  if (classes.length) el.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "on") for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === "class") el.className += (el.className ? " " : "") + v;
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** A labelled control: the label wraps it, so it is named for screen readers and clicks. */
/** Replaces el's children; null, undefined and false stand for nothing (replaceChildren itself
 *  would show them as text). */
function fill(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

function field(text, control) {
  return h("label", {}, text, control);
}

function short(s, n = 10) {
  return s && s.length > n ? s.slice(0, n) + "…" : s || "";
}

function bytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = -1;
  do { v /= 1024; i++; } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** The common name inside an identity id (base64 of "x509::<subject>::<issuer>"), for display. */
function identityName(id) {
  try {
    const text = atob(id);
    const m = /^x509::CN=((?:\\.|[^,+\\])*)/.exec(text);
    if (m) return m[1].replace(/\\(.)/g, "$1");
  } catch (_) { /* not base64: show it as it is */ }
  return short(id, 16);
}

function principal(p) {
  return p ? `${identityName(p.id)} (${p.msp_id})` : "";
}

function when(ts) {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? ts : d.toLocaleString();
}

// ---- API --------------------------------------------------------------------------------------

/** An API refusal: the HTTP status and the JSON body the gateway sent ({code, message}). */
class Refused extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(method, path, { json, headers } = {}) {
  const init = { method, headers: { Accept: "application/json", ...(headers || {}) } };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new Refused(0, { code: "unreachable", message: `the gateway did not answer: ${e.message}` });
  }
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (_) { body = { code: "not_json", message: text.slice(0, 500) }; }
  if (!res.ok) throw new Refused(res.status, body);
  return { body, txId: res.headers.get("x-tx-id"), block: res.headers.get("x-block-number"), headers: res.headers };
}

const enc = encodeURIComponent;
const projectPath = (p) => `/v1/projects/${enc(p)}`;
const phasePath = (p, ph) => `${projectPath(p)}/phases/${enc(ph)}`;

/** The refusal as the API said it: status, code and message, and the JSON itself. */
function refusal(err, doing) {
  if (!(err instanceof Refused)) {
    return h("div.refusal", { role: "alert" }, `${doing} failed: ${err && err.message ? err.message : err}`);
  }
  const code = err.body && err.body.code ? err.body.code : "error";
  return h(
    "div.refusal",
    { role: "alert", "data-status": String(err.status), "data-code": code },
    h("strong", {}, `${doing}: ${err.status || "no answer"} ${code}`),
    h("div", {}, err.body && err.body.message ? err.body.message : ""),
    h("pre", {}, JSON.stringify(err.body, null, 2)),
  );
}

function committed(what, r) {
  return h("div.notice", { role: "status", "data-tx": r.txId || "", "data-block": r.block || "" }, `${what} — committed in tx `, h("code", {}, short(r.txId, 16)), r.block ? ` (block ${r.block})` : "");
}

/** Runs `action` for a form's submit, showing its outcome in `out`; the button waits meanwhile. */
function submitting(form, out, doing, action) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => (b.disabled = true));
    fill(out, h("p.meta", {}, `${doing}…`));
    try {
      const shown = await action();
      fill(out, ...(shown ? [shown] : []));
    } catch (err) {
      fill(out, refusal(err, doing));
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  });
}

// ---- who am I ---------------------------------------------------------------------------------

async function loadMe() {
  const el = document.getElementById("me");
  try {
    me = (await api("GET", "/v1/whoami")).body;
    knownMsps.add(me.msp_id);
    el.replaceChildren(
      h("span", { title: me.identity.subject }, `${me.user}`),
      " · ",
      h("span.badge", {}, me.msp_id),
      " · role ",
      h("span.badge", { id: "my-role" }, me.identity.role),
    );
    el.dataset.msp = me.msp_id;
  } catch (err) {
    el.textContent = "not signed in";
    fill(view,
      h("h1", {}, "No identity"),
      h("p", {}, "This gateway identifies you by the client certificate your browser presents. Import your user's PKCS#12 (see the README: network.sh p12) and open the page again."),
      refusal(err, "Who am I"),
    );
    throw err;
  }
}

// ---- participants editor ------------------------------------------------------------------------

/** Rows of {msp_id, identity, role}; returns [element, read()] where read() gives the list. */
function participantsEditor(initial, idPrefix) {
  const list = h("div.stack");
  const datalistId = `${idPrefix}-msps`;
  const datalist = h("datalist", { id: datalistId }, [...knownMsps].sort().map((m) => h("option", { value: m })));
  let n = 0;
  const addRow = (p = {}) => {
    n += 1;
    const msp = h("input", { name: "msp_id", value: p.msp_id || "", required: true, list: datalistId, placeholder: "Org2MSP", pattern: "[A-Za-z0-9._\\-]+" });
    const identity = h("input", { name: "identity", value: p.identity || "", placeholder: "whole org" });
    const role = h("select", { name: "role" }, h("option", { value: "" }, "any role"), ROLES.map((r) => h("option", { value: r, selected: p.role === r }, r)));
    const row = h("div.participant-row", { "data-row": String(n) });
    const mine = h("button", { type: "button", on: { click: () => { msp.value = me.msp_id; identity.value = me.identity.id; } } }, "Only me");
    const remove = h("button", { type: "button", on: { click: () => row.remove() } }, "Remove");
    row.append(field(`Org (MSP id) ${n}`, msp), field("Identity id (optional)", identity), field("Role", role), mine, remove);
    list.append(row);
  };
  const reset = () => {
    fill(list);
    n = 0;
    (initial.length ? initial : [{ msp_id: me ? me.msp_id : "" }]).forEach(addRow);
  };
  reset();
  const add = h("button", { type: "button", on: { click: () => addRow() } }, "Add participant");
  const read = () =>
    [...list.querySelectorAll(".participant-row")].map((row) => {
      const p = { msp_id: row.querySelector("[name=msp_id]").value.trim() };
      const id = row.querySelector("[name=identity]").value.trim();
      const role = row.querySelector("[name=role]").value;
      if (id) p.identity = id;
      if (role) p.role = role;
      return p;
    });
  return [h("fieldset", {}, h("legend", {}, "Participants"), datalist, list, add), read, reset];
}

function lanes(participants) {
  const orgs = [...new Set(participants.map((p) => p.msp_id))].sort();
  return h(
    "ul.lanes",
    { "aria-label": "participants" },
    participants.map((p) => {
      let text = p.msp_id;
      if (p.identity) text += ` · ${identityName(p.identity)}`;
      if (p.role) text += ` · ${p.role}s`;
      return h("li.lane", { class: `org-${orgs.indexOf(p.msp_id) % 5}`, title: p.identity || "" }, text);
    }),
  );
}

function statusBadge(status) {
  return h("span.badge", { class: `status-${status}`, "data-status": status }, status);
}

// ---- pages ------------------------------------------------------------------------------------

/** A paged list: load(bookmark) → {items, bookmark}; draw(items) → node. */
function pagedList(load, draw, label) {
  const box = h("div", { "data-list": label });
  let stack = [""]; // bookmarks of the pages seen, for "previous"
  const show = async () => {
    const bookmark = stack[stack.length - 1];
    try {
      const page = await load(bookmark);
      const prev = h("button", { type: "button", disabled: stack.length === 1, on: { click: () => { stack.pop(); show(); } } }, "Previous page");
      const next = h("button", { type: "button", disabled: !page.bookmark, on: { click: () => { stack.push(page.bookmark); show(); } } }, "Next page");
      fill(box, draw(page.items), h("nav.pager", { "aria-label": `${label} pages` }, prev, h("span.meta", {}, `page ${stack.length}`), next));
    } catch (err) {
      fill(box, refusal(err, `Read ${label}`));
    }
  };
  return { box, reload: show, first: () => { stack = [""]; return show(); } };
}

function pageQuery(bookmark) {
  return `?page_size=${PAGE_SIZE}${bookmark ? `&bookmark=${enc(bookmark)}` : ""}`;
}

async function projectsPage() {
  current = { project: null, phase: null };
  const list = pagedList(
    async (b) => (await api("GET", `/v1/projects${pageQuery(b)}`)).body,
    (items) =>
      items.length
        ? h("div.table-wrap", {}, h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Project"), h("th", {}, "Name"), h("th", {}, "Owner"), h("th", {}, "Status"), h("th", {}, "Created"))),
            h("tbody", {}, items.map((p) => h("tr", { "data-project": p.id },
              h("td", {}, h("a", { href: `#/projects/${enc(p.id)}` }, p.id)), h("td", {}, p.name), h("td", {}, principal(p.owner)),
              h("td", {}, statusBadge(p.status)), h("td", {}, when(p.created)))))))
        : h("p.meta", {}, "No projects yet: create the first below."),
    "projects",
  );
  const out = h("div");
  const form = h("form.stack", { id: "create-project" },
    field("Project id", h("input", { name: "id", required: true, placeholder: "bridge-2027", autocomplete: "off" })),
    field("Name", h("input", { name: "name", required: true })),
    field("Description", h("textarea", { name: "description", rows: 3 })),
    h("div.actions", {}, h("button.primary", { type: "submit" }, "Create project")));
  submitting(form, out, "Create project", async () => {
    const f = new FormData(form);
    const r = await api("POST", "/v1/projects", { json: { id: f.get("id").trim(), name: f.get("name"), description: f.get("description") } });
    form.reset();
    await list.first();
    return h("div", {}, committed(`Project ${r.body.id} created`, r), h("a", { href: `#/projects/${enc(r.body.id)}` }, `Open ${r.body.id}`));
  });
  fill(view,
    h("h1", {}, "Projects"),
    h("section", { "aria-labelledby": "projects-list" }, h("h2", { id: "projects-list" }, "All projects"), list.box),
    h("section", { "aria-labelledby": "projects-new" }, h("h2", { id: "projects-new" }, "New project"), form, out),
  );
  refreshers = [list.reload];
  await list.reload();
}

async function projectPage(projectId) {
  current = { project: projectId, phase: null };
  const head = h("div");
  const flow = h("div", { id: "flow" });
  const flash = h("div");
  const drawFlow = async () => {
    try {
      const [project, phases] = await Promise.all([api("GET", projectPath(projectId)), api("GET", `${projectPath(projectId)}/phases`)]);
      const p = project.body;
      fill(head,
        h("div.crumbs", {}, h("a", { href: "#/" }, "Projects"), " / ", p.id),
        h("h1", {}, p.name, " ", statusBadge(p.status)),
        p.description ? h("p", {}, p.description) : null,
        h("p.meta", {}, `Project ${p.id}, created ${when(p.created)} by ${principal(p.owner)}`),
      );
      const list = phases.body.items.slice().sort((a, b) => a.position - b.position || a.id.localeCompare(b.id));
      list.forEach((ph) => ph.participants.forEach((x) => knownMsps.add(x.msp_id)));
      fill(flow,
        list.length
          ? h("ol.flow", { "aria-label": "phases in order" }, list.map((ph, i) => phaseCard(p.id, ph, list[i - 1], list[i + 1], flash, drawFlow)))
          : h("p.meta", {}, "No phases yet: add the first below."),
      );
    } catch (err) {
      fill(flow, refusal(err, `Read project ${projectId}`));
    }
  };
  const [editor, readParticipants, resetParticipants] = participantsEditor([], "new-phase");
  const out = h("div");
  const form = h("form.stack", { id: "add-phase" },
    field("Phase id", h("input", { name: "id", required: true, placeholder: "design", autocomplete: "off" })),
    field("Name", h("input", { name: "name", required: true })),
    field("Position (optional: after the last)", h("input", { name: "position", type: "number", min: 0, step: 1 })),
    editor,
    h("div.actions", {}, h("button.primary", { type: "submit" }, "Add phase")));
  submitting(form, out, "Add phase", async () => {
    const f = new FormData(form);
    const body = { id: f.get("id").trim(), name: f.get("name"), participants: readParticipants() };
    if (f.get("position") !== "") body.position = Number(f.get("position"));
    const r = await api("POST", `${projectPath(projectId)}/phases`, { json: body });
    form.reset();
    resetParticipants();
    await drawFlow();
    return committed(`Phase ${r.body.id} added`, r);
  });
  fill(view,
    head,
    h("section", { "aria-labelledby": "flow-title" }, h("h2", { id: "flow-title" }, "Service flow"), flash, flow),
    h("section", { "aria-labelledby": "phase-new" }, h("h2", { id: "phase-new" }, "Add a phase"), form, out),
  );
  refreshers = [drawFlow];
  await drawFlow();
}

/** One phase in the flow: state, participants as lanes, and what may be done to it. */
function phaseCard(projectId, ph, prev, next, flash, redraw) {
  const path = phasePath(projectId, ph.id);
  const act = (label, doing, method, suffix, json) =>
    h("button", {
      type: "button",
      on: {
        click: async () => {
          fill(flash, h("p.meta", {}, `${doing}…`));
          try {
            const r = await api(method, path + suffix, { json });
            fill(flash, committed(`${doing}: done`, r));
            await redraw();
          } catch (err) {
            fill(flash, refusal(err, doing));
          }
        },
      },
    }, label);
  const actions = h("div.actions");
  if (ph.status === "planned") actions.append(act("Activate", `Activate ${ph.id}`, "POST", "/activate"));
  if (ph.status === "active") actions.append(act("Close", `Close ${ph.id}`, "POST", "/close"));
  if (ph.status === "planned" && prev) actions.append(act("◀ Earlier", `Move ${ph.id} earlier`, "PATCH", "", { position: Math.max(0, prev.position - 1) }));
  if (ph.status === "planned" && next) actions.append(act("Later ▶", `Move ${ph.id} later`, "PATCH", "", { position: next.position + 1 }));
  if (ph.status !== "closed") {
    actions.append(h("button", {
      type: "button",
      "aria-expanded": "false",
      on: {
        click: (ev) => {
          const [editor, read] = participantsEditor(ph.participants, `edit-${ph.id}`);
          const out = h("div");
          const form = h("form.stack", { "data-edit": ph.id }, editor, h("div.actions", {}, h("button.primary", { type: "submit" }, "Save participants"),
            h("button", { type: "button", on: { click: () => { form.remove(); ev.target.setAttribute("aria-expanded", "false"); } } }, "Cancel")));
          submitting(form, out, `Change participants of ${ph.id}`, async () => {
            const r = await api("PATCH", path, { json: { participants: read() } });
            const moving = r.headers.get("x-migration");
            await redraw();
            return committed(moving ? `Participants of ${ph.id} change once its data has moved (${moving})` : `Participants of ${ph.id} changed`, r);
          });
          fill(flash, h("h3", {}, `Participants of ${ph.name}`), form, out);
          ev.target.setAttribute("aria-expanded", "true");
          form.querySelector("input").focus();
        },
      },
    }, "Participants…"));
  }
  return h("li.phase-card", { class: `status-${ph.status}`, "data-phase": ph.id },
    h("span.meta", {}, `#${ph.position}`),
    h("h3", {}, h("a", { href: `#/projects/${enc(projectId)}/phases/${enc(ph.id)}` }, ph.name)),
    h("div", {}, statusBadge(ph.status), " ", h("span.badge", { title: "phase key version" }, `key v${ph.key_version}`)),
    lanes(ph.participants),
    ph.migration ? h("p.meta", { "data-migration": "" }, `Moving to ${ph.migration.participants.map((p) => p.msp_id).join(", ")}: ${ph.migration.moved} values in ${ph.migration.batches} batches`) : null,
    actions,
    h("span.arrow", { "aria-hidden": "true" }, "➜"),
  );
}

async function phasePage(projectId, phaseId) {
  current = { project: projectId, phase: phaseId };
  const path = phasePath(projectId, phaseId);
  const head = h("div", {}, h("div.crumbs", {}, h("a", { href: "#/" }, "Projects"), " / ", h("a", { href: `#/projects/${enc(projectId)}` }, projectId), " / ", phaseId), h("h1", {}, phaseId));
  const facts = h("div");
  const drawFacts = async () => {
    try {
      const ph = (await api("GET", path)).body;
      fill(head.querySelector("h1"), ph.name, " ", statusBadge(ph.status));
      const migration = ph.migration
        ? h("div.notice", { "data-migration": "" }, `Data moving to ${ph.migration.to}: ${ph.migration.moved} values in ${ph.migration.batches} batches. Writes wait until it ends. `,
            h("button", { type: "button", on: { click: async (ev) => { ev.target.disabled = true; try { await api("POST", `${path}/migration`); } catch (err) { facts.append(refusal(err, "Move data")); } await drawFacts(); } } }, "Move the next batch"))
        : null;
      fill(facts, h("p.meta", {}, `Phase ${ph.id} at position ${ph.position}, collection ${ph.collection}, key version ${ph.key_version}`), lanes(ph.participants), migration);
    } catch (err) {
      fill(facts, refusal(err, `Read phase ${phaseId}`));
    }
  };
  const detail = h("div", { id: "record-detail" });
  const records = pagedList(
    async (b) => (await api("GET", `${path}/records${pageQuery(b)}`)).body,
    (items) =>
      items.length
        ? h("div.table-wrap", {}, h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Record"), h("th", {}, "Version"), h("th", {}, "Author"), h("th", {}, "Updated"), h("th", {}, "Tx"))),
            h("tbody", {}, items.map((r) => h("tr", { "data-record": r.id },
              h("td", {}, h("button", { type: "button", on: { click: () => showRecord(path, r.id, detail) } }, r.id)),
              h("td", {}, `v${r.version}`), h("td", {}, principal(r.author)), h("td", {}, when(r.updated)), h("td.mono", { title: r.tx_id }, short(r.tx_id, 12)))))))
        : h("p.meta", {}, "No records yet."),
    "records",
  );
  const putOut = h("div");
  const putForm = h("form.stack", { id: "put-record" },
    field("Record id", h("input", { name: "id", required: true, autocomplete: "off", placeholder: "spec" })),
    field("Document (JSON)", h("textarea", { name: "document", required: true, placeholder: '{"status": "draft"}' })),
    h("div.actions", {}, h("button.primary", { type: "submit" }, "Put record")));
  submitting(putForm, putOut, "Put record", async () => {
    const f = new FormData(putForm);
    let doc;
    try {
      doc = JSON.parse(f.get("document"));
    } catch (e) {
      return refusal(new Refused(0, { code: "bad_json", message: `the document is not JSON: ${e.message}` }), "Put record");
    }
    const id = f.get("id").trim();
    const r = await api("PUT", `${path}/records/${enc(id)}`, { json: doc });
    await records.reload();
    return committed(`Record ${id} v${r.body.version} put`, r);
  });
  const files = pagedList(
    async (b) => (await api("GET", `${path}/files${pageQuery(b)}`)).body,
    (items) =>
      items.length
        ? h("div.table-wrap", {}, h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "File"), h("th", {}, "Size"), h("th", {}, "SHA-256"), h("th", {}, "Uploaded by"), h("th", {}, "Key"), h("th", {}, "Actions"))),
            h("tbody", {}, items.map((a) => fileRow(path, a)))))
        : h("p.meta", {}, "No files yet."),
    "files",
  );
  const upload = uploadForm(path, files.reload);
  fill(view,
    head,
    facts,
    h("section", { "aria-labelledby": "records-title" }, h("h2", { id: "records-title" }, "Records"), records.box, detail,
      h("h3", {}, "Put a record"), putForm, putOut),
    h("section", { "aria-labelledby": "files-title" }, h("h2", { id: "files-title" }, "Files"), files.box, h("h3", {}, "Upload a file"), upload),
  );
  refreshers = [drawFacts, records.reload, files.reload];
  await Promise.all([drawFacts(), records.reload(), files.reload()]);
}

async function showRecord(path, id, detail) {
  fill(detail, h("p.meta", {}, `Reading ${id}…`));
  try {
    const [rec, hist] = await Promise.all([api("GET", `${path}/records/${enc(id)}`), api("GET", `${path}/records/${enc(id)}/history?page_size=${PAGE_SIZE}`)]);
    const r = rec.body;
    fill(detail,
      h("h3", {}, `Record ${r.id}, version ${r.version}`),
      h("p.meta", {}, `by ${principal(r.author)}, ${when(r.updated)}, tx `, h("code", {}, r.tx_id)),
      h("pre", { "data-document": r.id }, JSON.stringify(r.document, null, 2)),
      h("h3", {}, "Versions"),
      h("ul", {}, hist.body.items.map((v) => h("li", {}, h("details", {}, h("summary", {}, `v${v.version} by ${principal(v.author)}, ${when(v.updated)}`), h("pre", {}, JSON.stringify(v.document, null, 2)))))),
      hist.body.bookmark ? h("p.meta", {}, `Showing the first ${PAGE_SIZE} versions.`) : null,
    );
  } catch (err) {
    fill(detail, refusal(err, `Read record ${id}`));
  }
}

/** What the last verify of each file found, by file id: a redraw of the list (an event came)
 *  shows it again instead of dropping it. */
const verdicts = new Map();

function verdict(v, name) {
  if (v === "pending") return h("span.badge", {}, "verifying…");
  if (v instanceof Error) return refusal(v, `Verify ${name}`);
  return v.verified
    ? h("span.badge.verified", { "data-state": "verified", title: v.receipt.tx_id }, `✓ verified · tx ${short(v.receipt.tx_id, 12)} · block ${v.receipt.block_number}`)
    : h("span.badge.failed", { "data-state": "failed", title: v.tx_id || "" }, `✗ ${v.reason}${v.tx_id ? ` · tx ${short(v.tx_id, 12)}` : ""}`);
}

function fileRow(path, a) {
  const filePath = `${path}/files/${enc(a.id)}`;
  const key = filePath;
  const badge = h("span", { "data-verify": a.id }, verdicts.has(key) ? verdict(verdicts.get(key), a.name) : null);
  const show = (v) => {
    verdicts.set(key, v);
    // The row on the page now, which a redraw may have replaced since the click.
    const el = [...document.querySelectorAll("[data-verify]")].find((e) => e.dataset.verify === a.id);
    (el || badge).replaceChildren(verdict(v, a.name));
  };
  const verify = h("button", {
    type: "button",
    on: {
      click: async () => {
        show("pending");
        try {
          show((await api("GET", `${filePath}/verify`)).body);
        } catch (err) {
          show(err);
        }
      },
    },
  }, "Verify");
  return h("tr", { "data-file": a.id },
    h("td", {}, a.name, h("div.meta", {}, a.content_type)),
    h("td", {}, bytes(a.size)),
    h("td.mono", { title: a.sha256 }, short(a.sha256, 12)),
    h("td", {}, principal(a.uploader), h("div.meta", {}, when(a.created))),
    h("td", {}, `v${a.key_version}`),
    h("td", {}, h("div.actions", {}, h("a.button", { href: `${filePath}/content`, download: a.name }, "Download"), verify), badge),
  );
}

/** Upload with a progress bar: the browser streams the chosen file from disk (XHR sends the File
 *  itself, never a copy read into memory); an Idempotency-Key makes a retry anchor it once. */
function uploadForm(path, reload) {
  const input = h("input", { type: "file", name: "file", required: true });
  const bar = h("progress", { max: 100, value: 0, "aria-label": "upload progress" });
  const status = h("div", { role: "status" });
  const form = h("form.stack", { id: "upload-file" }, field("File", input), h("div.actions", {}, h("button.primary", { type: "submit" }, "Upload")), bar, status);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const file = input.files[0];
    if (!file) return;
    const button = form.querySelector("button");
    button.disabled = true;
    bar.value = 0;
    fill(status, h("p.meta", {}, `Uploading ${file.name}…`));
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${path}/files?name=${enc(file.name)}`);
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    xhr.setRequestHeader("Idempotency-Key", crypto.randomUUID());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
    });
    xhr.addEventListener("loadend", async () => {
      button.disabled = false;
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (_) { body = { code: "not_json", message: xhr.responseText.slice(0, 500) }; }
      if (xhr.status >= 200 && xhr.status < 300) {
        bar.value = 100;
        form.reset();
        fill(status, committed(`${body.file.name} (${bytes(body.file.size)}) stored and anchored`, { txId: body.receipt.tx_id, block: body.receipt.block_number }));
        await reload();
      } else {
        fill(status, refusal(new Refused(xhr.status, xhr.status ? body : { code: "unreachable", message: "the upload did not reach the gateway" }), `Upload ${file.name}`));
      }
    });
    xhr.send(file);
  });
  return form;
}

// ---- live events ------------------------------------------------------------------------------

const EVENT_NAMES = ["ProjectCreated", "PhaseAdded", "PhaseUpdated", "PhaseActivated", "PhaseClosed", "PhaseKeySet", "RecordPut", "FileAnchored", "FileResealed", "PhaseMigrating", "PhaseMigrated"];
let refreshTimer = null;

function connectEvents() {
  const live = document.getElementById("live");
  const list = document.getElementById("event-list");
  const source = new EventSource("/v1/events");
  source.addEventListener("open", () => { live.textContent = "events: live"; live.className = "live on"; });
  source.addEventListener("error", () => { live.textContent = "events: reconnecting"; live.className = "live off"; });
  const onEvent = (ev) => {
    let d;
    try { d = JSON.parse(ev.data); } catch (_) { return; }
    const where = d.phase ? `${d.project} / ${d.phase}` : d.project;
    const what = d.record ? ` record ${d.record}` : d.file ? ` file ${d.file}` : "";
    const item = h("li.fresh", { "data-event": d.event, "data-tx": d.tx_id, "data-received": String(Date.now()) },
      h("strong", {}, d.event), ` ${where}${what}`, h("div.meta", {}, `block ${d.block_number} · tx ${short(d.tx_id, 12)}`));
    list.prepend(item);
    setTimeout(() => item.classList.remove("fresh"), 3000);
    while (list.children.length > 50) list.lastElementChild.remove();
    // The open page redraws its lists when an event concerns what it shows.
    const concerns = current.project === null || (d.project === current.project && (current.phase === null || !d.phase || d.phase === current.phase));
    if (concerns) {
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(() => refreshers.forEach((r) => r()), 150);
    }
  };
  EVENT_NAMES.forEach((n) => source.addEventListener(n, onEvent));
  source.addEventListener("end", () => { live.textContent = "events: ended"; live.className = "live off"; });
}

// ---- routing ----------------------------------------------------------------------------------

async function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  refreshers = [];
  try {
    if (parts[0] === "projects" && parts.length === 2) await projectPage(parts[1]);
    else if (parts[0] === "projects" && parts[2] === "phases" && parts.length === 4) await phasePage(parts[1], parts[3]);
    else await projectsPage();
  } catch (err) {
    fill(view, refusal(err, "Show the page"));
  }
  document.title = ["svcflow", ...parts.filter((_, i) => i % 2 === 1)].join(" · ");
  view.dataset.ready = location.hash || "#/";
}

window.addEventListener("hashchange", () => { route().then(() => view.focus()); });
loadMe().then(() => { connectEvents(); return route(); }, () => { view.dataset.ready = "no-identity"; });
