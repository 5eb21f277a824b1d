// The project page (#/projects/{id}): its phases as a flow in their order, each card with what may
// be done to the phase, and a form to add one.

import { api, enc, phasePath, projectPath } from "./api.js";
import { field, fill, h, view } from "./dom.js";
import { principal, statusBadge, when } from "./format.js";
import { committed, refusal, submitting } from "./outcome.js";
import { lanes, participantsEditor } from "./participants.js";
import { flowOrder, movePhase } from "./reorder.js";
import { session } from "./session.js";
import { show, showing } from "./showing.js";

export async function projectPage(projectId) {
  show(projectId, null);
  const head = h("div");
  const flow = h("div", { id: "flow" });
  const flash = h("div");
  const drawFlow = async () => {
    try {
      const [project, list] = await Promise.all([api("GET", projectPath(projectId)), flowOrder(projectId)]);
      const p = project.body;
      fill(head,
        h("div.crumbs", {}, h("a", { href: "#/" }, "Projects"), " / ", p.id),
        h("h1", {}, p.name, " ", statusBadge(p.status)),
        p.description ? h("p", {}, p.description) : null,
        h("p.meta", {}, `Project ${p.id}, created ${when(p.created)} by ${principal(p.owner)}`),
      );
      list.forEach((ph) => ph.participants.forEach((x) => session.knownMsps.add(x.msp_id)));
      fill(flow,
        list.length
          ? h("ol.flow", { "aria-label": "phases in order" }, list.map((ph, i) => phaseCard(p.id, ph, i, list.length, flash, drawFlow)))
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
  showing.refreshers = [drawFlow];
  await drawFlow();
}

/** One phase in the flow, at `index` of `count`: state, participants as lanes, and what may be
 *  done to it. Its number is its place in the flow, which is what Earlier and Later change. */
function phaseCard(projectId, ph, index, count, flash, redraw) {
  const path = phasePath(projectId, ph.id);
  const act = (label, doing, run) =>
    h("button", {
      type: "button",
      on: {
        click: async () => {
          fill(flash, h("p.meta", {}, `${doing}…`));
          try {
            const r = await run();
            fill(flash, committed(`${doing}: done`, r));
            await redraw();
          } catch (err) {
            fill(flash, refusal(err, doing));
          }
        },
      },
    }, label);
  const actions = h("div.actions");
  if (ph.status === "planned") actions.append(act("Activate", `Activate ${ph.id}`, () => api("POST", `${path}/activate`)));
  if (ph.status === "active") actions.append(act("Close", `Close ${ph.id}`, () => api("POST", `${path}/close`)));
  if (ph.status === "planned" && index > 0) actions.append(act("◀ Earlier", `Move ${ph.id} earlier`, () => movePhase(projectId, ph.id, index - 1)));
  if (ph.status === "planned" && index < count - 1) actions.append(act("Later ▶", `Move ${ph.id} later`, () => movePhase(projectId, ph.id, index + 1)));
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
    h("span.meta", {}, `#${index}`),
    h("h3", {}, h("a", { href: `#/projects/${enc(projectId)}/phases/${enc(ph.id)}` }, ph.name)),
    h("div", {}, statusBadge(ph.status), " ", h("span.badge", { title: "phase key version" }, `key v${ph.key_version}`)),
    lanes(ph.participants),
    ph.migration ? h("p.meta", { "data-migration": "" }, `Moving to ${ph.migration.participants.map((p) => p.msp_id).join(", ")}: ${ph.migration.moved} values in ${ph.migration.batches} batches`) : null,
    actions,
    h("span.arrow", { "aria-hidden": "true" }, "➜"),
  );
}
