// The REST API on this origin. The browser presents its client certificate on every call, so
// each call acts as the user the page shows.

export const PAGE_SIZE = 20;

/** An API refusal: the HTTP status and the JSON body the gateway sent ({code, message}). */
export class Refused extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function api(method, path, { json, headers } = {}) {
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

export const enc = encodeURIComponent;
export const projectPath = (p) => `/v1/projects/${enc(p)}`;
export const phasePath = (p, ph) => `${projectPath(p)}/phases/${enc(ph)}`;

export function pageQuery(bookmark) {
  return `?page_size=${PAGE_SIZE}${bookmark ? `&bookmark=${enc(bookmark)}` : ""}`;
}
