// A phase's files: a row per file with Download and Verify, and the upload form.

import { api, enc, Refused } from "./api.js";
import { field, fill, h } from "./dom.js";
import { bytes, principal, short, when } from "./format.js";
import { committed, refusal } from "./outcome.js";

/** What the last verify of each file found, by file path: a redraw of the list (an event came)
 *  shows it again instead of dropping it. */
const verdicts = new Map();

function verdict(v, name) {
  if (v === "pending") return h("span.badge", {}, "verifying…");
  if (v instanceof Error) return refusal(v, `Verify ${name}`);
  return v.verified
    ? h("span.badge.verified", { "data-state": "verified", title: v.receipt.tx_id }, `✓ verified · tx ${short(v.receipt.tx_id, 12)} · block ${v.receipt.block_number}`)
    : h("span.badge.failed", { "data-state": "failed", title: v.tx_id || "" }, `✗ ${v.reason}${v.tx_id ? ` · tx ${short(v.tx_id, 12)}` : ""}`);
}

export function fileRow(path, a) {
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
export function uploadForm(path, reload) {
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
