// A phase's participants: the editor of the list and its drawing as lanes.

import { field, fill, h } from "./dom.js";
import { identityName } from "./format.js";
import { session } from "./session.js";

const ROLES = ["client", "admin", "peer", "orderer", "member"];

/** Rows of {msp_id, identity, role}; returns [element, read(), reset()] where read() gives the list. */
export function participantsEditor(initial, idPrefix) {
  const list = h("div.stack");
  const datalistId = `${idPrefix}-msps`;
  const datalist = h("datalist", { id: datalistId }, [...session.knownMsps].sort().map((m) => h("option", { value: m })));
  let n = 0;
  const addRow = (p = {}) => {
    n += 1;
    const msp = h("input", { name: "msp_id", value: p.msp_id || "", required: true, list: datalistId, placeholder: "Org2MSP", pattern: "[A-Za-z0-9._\\-]+" });
    const identity = h("input", { name: "identity", value: p.identity || "", placeholder: "whole org" });
    const role = h("select", { name: "role" }, h("option", { value: "" }, "any role"), ROLES.map((r) => h("option", { value: r, selected: p.role === r }, r)));
    const row = h("div.participant-row", { "data-row": String(n) });
    const mine = h("button", { type: "button", on: { click: () => { msp.value = session.me.msp_id; identity.value = session.me.identity.id; } } }, "Only me");
    const remove = h("button", { type: "button", on: { click: () => row.remove() } }, "Remove");
    row.append(field(`Org (MSP id) ${n}`, msp), field("Identity id (optional)", identity), field("Role", role), mine, remove);
    list.append(row);
  };
  const reset = () => {
    fill(list);
    n = 0;
    (initial.length ? initial : [{ msp_id: session.me ? session.me.msp_id : "" }]).forEach(addRow);
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

export function lanes(participants) {
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
