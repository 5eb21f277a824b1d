// Building the page from data without markup: every value from the API becomes a text node, so a
// record's or a file's contents can never become script.

/** h("tag.class", {attrs, on: {event: fn}}, ...children): children are nodes or text. */
export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag);
  if (classes.length) el.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "on") for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === "class") el.className += (el.className ? " " : "") + v;
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces el's children; null, undefined and false stand for nothing (replaceChildren itself
 *  would show them as text). */
export function fill(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

/** A labelled control: the label wraps it, so it is named for screen readers and clicks. */
export function field(text, control) {
  return h("label", {}, text, control);
}

/** The page's main region, which every page fills. */
export const view = document.getElementById("view");
