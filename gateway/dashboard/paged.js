// A list the API returns a page at a time, with previous and next by bookmark.

import { fill, h } from "./dom.js";
import { refusal } from "./outcome.js";

/** load(bookmark) → {items, bookmark}; draw(items) → node. */
export function pagedList(load, draw, label) {
  const box = h("div", { "data-list": label });
  let stack = [""]; // bookmarks of the pages seen, for "previous"
  const show = async () => {
    const bookmark = stack[stack.length - 1];
    try {
      const page = await load(bookmark);
      const prev = h("button", { type: "button", disabled: stack.length === 1, on: { click: () => { stack.pop(); show(); } } }, "Previous page");
      const next = h("button", { type: "button", disabled: !page.bookmark, on: { click: () => { stack.push(page.bookmark); show(); } } }, "Next page");
      fill(box, draw(page.items), h("nav.pager", { "aria-label": `${label} pages` }, prev, h("span.meta", {}, `page ${stack.length}`), next));
    } catch (err) {
      fill(box, refusal(err, `Read ${label}`));
    }
  };
  return { box, reload: show, first: () => { stack = [""]; return show(); } };
}
