// The phase page (#/projects/{id}/phases/{phase}): the phase's facts, its records (a click shows
// a document and its versions), putting a record, and its files.

import { api, enc, PAGE_SIZE, pageQuery, phasePath, Refused } from "./api.js";
import { field, fill, h, view } from "./dom.js";
import { principal, short, statusBadge, when } from "./format.js";
import { fileRow, uploadForm } from "./files.js";
import { committed, refusal, submitting } from "./outcome.js";
import { pagedList } from "./paged.js";
import { lanes } from "./participants.js";
import { flowOrder } from "./reorder.js";
import { show, showing } from "./showing.js";

// A phase whose participant orgs each keep a copy in their own implicit collection.
const ORG_COPIES = "_implicit_org_*";

const orgsOf = (ps) => [...new Set(ps.map((p) => p.msp_id))];

// What a phase's migration does, and whether writes wait for it (only an older phase's move, and
// the last step of a joiner's fill, about one block).
function migrationText(ph) {
  const m = ph.migration;
  if (m.from !== ORG_COPIES) return `Data moving from ${m.from} to each participant org's own copy; writes wait until it ends`;
  const now = orgsOf(ph.participants);
  const receiving = orgsOf(m.participants).filter((o) => !now.includes(o));
  if (receiving.length && m.sealed) return `Finishing the copy of ${receiving.join(", ")}; writes wait a moment`;
  if (receiving.length) return `Copying the phase's data to ${receiving.join(", ")}${m.rechecking ? " (now what was written meanwhile)" : ""}; writes go on`;
  return `Purging the copies of ${(m.purge || []).join(", ")}, which left the phase; writes go on`;
}

// A change of participants that adds someone to a phase holding data waits for the approval of
// every participant org that stays; a participant of such an org approves it here.
function proposalNotice(ph, path, redraw, out) {
  const p = ph.proposal;
  if (!p) return null;
  const waiting = p.needs.filter((o) => !p.approvals.includes(o));
  const who = p.participants.map((x) => [x.msp_id, x.identity, x.role].filter(Boolean).join(" ")).join(", ");
  return h("div.notice", { "data-proposal": "" },
    `Proposed participants: ${who}. Approved by ${p.approvals.join(", ") || "nobody yet"}; waiting for ${waiting.join(", ")}. `,
    h("button", { type: "button", on: { click: async (ev) => { ev.target.disabled = true; try { await api("POST", `${path}/approval`); } catch (err) { out.append(refusal(err, "Approve")); } await redraw(); } } }, "Approve for my org"));
}

export async function phasePage(projectId, phaseId) {
  show(projectId, phaseId);
  const path = phasePath(projectId, phaseId);
  const head = h("div", {}, h("div.crumbs", {}, h("a", { href: "#/" }, "Projects"), " / ", h("a", { href: `#/projects/${enc(projectId)}` }, projectId), " / ", phaseId), h("h1", {}, phaseId));
  const facts = h("div");
  const drawFacts = async () => {
    try {
      // The position shown is the phase's place in the flow, as the project page numbers it.
      const [ph, place] = await Promise.all([
        api("GET", path).then((r) => r.body),
        flowOrder(projectId).then((list) => list.findIndex((p) => p.id === phaseId), () => -1),
      ]);
      fill(head.querySelector("h1"), ph.name, " ", statusBadge(ph.status));
      const migration = ph.migration
        ? h("div.notice", { "data-migration": "" }, `${migrationText(ph)}: ${ph.migration.moved} values in ${ph.migration.batches} batches. `,
            h("button", { type: "button", on: { click: async (ev) => { ev.target.disabled = true; try { await api("POST", `${path}/migration`); } catch (err) { facts.append(refusal(err, "Move data")); } await drawFacts(); } } }, "Move the next batch"))
        : null;
      fill(facts, h("p.meta", {}, `Phase ${ph.id} at position ${place >= 0 ? place : ph.position}, ${ph.collection === ORG_COPIES ? "each participant org keeps its own copy" : `collection ${ph.collection}`}, key version ${ph.key_version}`), lanes(ph.participants), migration, proposalNotice(ph, path, drawFacts, facts));
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
  showing.refreshers = [drawFacts, records.reload, files.reload];
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
