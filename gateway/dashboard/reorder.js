// A project's phases in the flow's order, and moving one to another place in it.
//
// The chaincode keeps positions 0..n-1 in the flow's order and puts a phase PATCHed with
// `position: k` at index k, shifting the ones between. A chaincode from before that sorts by
// position as a plain key, ties broken by id, so the same PATCH may leave the phase beside a tie
// instead of at k; a second PATCH then sets the key that such a sort puts at k.

import { api, phasePath, projectPath } from "./api.js";

export const inOrder = (phases) => phases.slice().sort((a, b) => a.position - b.position || a.id.localeCompare(b.id));

export async function flowOrder(projectId) {
  return inOrder((await api("GET", `${projectPath(projectId)}/phases`)).body.items);
}

/** Moves the phase `id` to index `to` of its flow; answers the last commit. */
export async function movePhase(projectId, id, to) {
  const path = phasePath(projectId, id);
  let r = await api("PATCH", path, { json: { position: to } });
  const now = await flowOrder(projectId);
  if (now.findIndex((p) => p.id === id) !== to) {
    r = await api("PATCH", path, { json: { position: sortKeyAt(now, id, to) } });
  }
  return r;
}

/** The position that sorts `id` to index `to` among the others of `list` (or the nearest one). */
function sortKeyAt(list, id, to) {
  const others = list.filter((p) => p.id !== id);
  const candidates = new Set([0]);
  others.forEach((p) => [p.position - 1, p.position, p.position + 1].forEach((k) => k >= 0 && candidates.add(k)));
  let best = null;
  for (const position of candidates) {
    const miss = Math.abs(inOrder([...others, { id, position }]).findIndex((p) => p.id === id) - to);
    if (best === null || miss < best.miss) best = { position, miss };
  }
  return best.position;
}
