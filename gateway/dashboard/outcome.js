// What a call came to, shown where it was made: a refusal as the API said it, or the commit.

import { Refused } from "./api.js";
import { fill, h } from "./dom.js";
import { short } from "./format.js";

/** The refusal as the API said it: status, code and message, and the JSON itself. */
export function refusal(err, doing) {
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

export function committed(what, r) {
  return h("div.notice", { role: "status", "data-tx": r.txId || "", "data-block": r.block || "" }, `${what} — committed in tx `, h("code", {}, short(r.txId, 16)), r.block ? ` (block ${r.block})` : "");
}

/** Runs `action` for a form's submit, showing its outcome in `out`; the button waits meanwhile. */
export function submitting(form, out, doing, action) {
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
