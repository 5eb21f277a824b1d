// The Live events list: one EventSource on /v1/events, and a redraw of the open page's lists when
// an event concerns what it shows.

import { api } from "./api.js";
import { h } from "./dom.js";
import { short } from "./format.js";
import { showing } from "./showing.js";

/** The event names, as the gateway's OpenAPI document lists them. An EventSource hears a named
 *  event only through a listener for that name, and the gateway names every event it sends; read
 *  from the document, a new event needs no change here. */
async function eventNames() {
  const doc = (await api("GET", "/openapi.json")).body;
  const names = doc && doc.components && doc.components.schemas && doc.components.schemas.Event && doc.components.schemas.Event.enum;
  if (!Array.isArray(names) || names.length === 0) throw new Error("/openapi.json lists no events at components.schemas.Event.enum");
  return names;
}

let refreshTimer = null;

export async function connectEvents() {
  const live = document.getElementById("live");
  const list = document.getElementById("event-list");
  let names;
  try {
    names = await eventNames();
  } catch (err) {
    live.textContent = "events: unavailable";
    live.className = "live off";
    live.title = err.message;
    return;
  }
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
    const concerns = showing.project === null || (d.project === showing.project && (showing.phase === null || !d.phase || d.phase === showing.phase));
    if (concerns) {
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(() => showing.refreshers.forEach((r) => r()), 150);
    }
  };
  names.forEach((n) => source.addEventListener(n, onEvent));
  source.addEventListener("end", () => { live.textContent = "events: ended"; live.className = "live off"; });
}
