// How the API's values read on the page.

import { h } from "./dom.js";

export function short(s, n = 10) {
  return s && s.length > n ? s.slice(0, n) + "…" : s || "";
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = -1;
  do { v /= 1024; i++; } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** The common name inside an identity id (base64 of "x509::<subject>::<issuer>"), for display. */
export function identityName(id) {
  try {
    const text = atob(id);
    const m = /^x509::CN=((?:\\.|[^,+\\])*)/.exec(text);
    if (m) return m[1].replace(/\\(.)/g, "$1");
  } catch (_) { /* not base64: show it as it is */ }
  return short(id, 16);
}

export function principal(p) {
  return p ? `${identityName(p.id)} (${p.msp_id})` : "";
}

export function when(ts) {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? ts : d.toLocaleString();
}

export function statusBadge(status) {
  return h("span.badge", { class: `status-${status}`, "data-status": status }, status);
}
