// A project's phases in the flow's order, and moving one to another place in it. The chaincode
// keeps positions 0..n-1 in the flow's order and puts a phase PATCHed with `position: k` at index
// k, shifting the ones between: the page sends the index it shows.

import { api, phasePath, projectPath } from "./api.js";

export const inOrder = (phases) => phases.slice().sort((a, b) => a.position - b.position);

export async function flowOrder(projectId) {
  return inOrder((await api("GET", `${projectPath(projectId)}/phases`)).body.items);
}

/** Moves the phase `id` to index `to` of its flow; answers the commit. */
export function movePhase(projectId, id, to) {
  return api("PATCH", phasePath(projectId, id), { json: { position: to } });
}
