// The projects page (#/): a page of projects at a time and a form to create one.

import { api, enc, pageQuery } from "./api.js";
import { field, fill, h, view } from "./dom.js";
import { principal, statusBadge, when } from "./format.js";
import { committed, submitting } from "./outcome.js";
import { pagedList } from "./paged.js";
import { show, showing } from "./showing.js";

export async function projectsPage() {
  show(null, null);
  const list = pagedList(
    async (b) => (await api("GET", `/v1/projects${pageQuery(b)}`)).body,
    (items) =>
      items.length
        ? h("div.table-wrap", {}, h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Project"), h("th", {}, "Name"), h("th", {}, "Owner"), h("th", {}, "Status"), h("th", {}, "Created"))),
            h("tbody", {}, items.map((p) => h("tr", { "data-project": p.id },
              h("td", {}, h("a", { href: `#/projects/${enc(p.id)}` }, p.id)), h("td", {}, p.name), h("td", {}, principal(p.owner)),
              h("td", {}, statusBadge(p.status)), h("td", {}, when(p.created)))))))
        : h("p.meta", {}, "No projects yet: create the first below."),
    "projects",
  );
  const out = h("div");
  const form = h("form.stack", { id: "create-project" },
    field("Project id", h("input", { name: "id", required: true, placeholder: "bridge-2027", autocomplete: "off" })),
    field("Name", h("input", { name: "name", required: true })),
    field("Description", h("textarea", { name: "description", rows: 3 })),
    h("div.actions", {}, h("button.primary", { type: "submit" }, "Create project")));
  submitting(form, out, "Create project", async () => {
    const f = new FormData(form);
    const r = await api("POST", "/v1/projects", { json: { id: f.get("id").trim(), name: f.get("name"), description: f.get("description") } });
    form.reset();
    await list.first();
    return h("div", {}, committed(`Project ${r.body.id} created`, r), h("a", { href: `#/projects/${enc(r.body.id)}` }, `Open ${r.body.id}`));
  });
  fill(view,
    h("h1", {}, "Projects"),
    h("section", { "aria-labelledby": "projects-list" }, h("h2", { id: "projects-list" }, "All projects"), list.box),
    h("section", { "aria-labelledby": "projects-new" }, h("h2", { id: "projects-new" }, "New project"), form, out),
  );
  showing.refreshers = [list.reload];
  await list.reload();
}
