// svcflow dashboard: a page over the gateway's REST API on the same origin. The browser's TLS
// client certificate is the caller, so every call acts as that user and the page shows exactly
// what the API lets them see. Native ES modules and no build step: the gateway serves these files
// as they are. This one routes the address to a page and starts the page.

import { fill, view } from "./dom.js";
import { connectEvents } from "./events.js";
import { refusal } from "./outcome.js";
import { phasePage } from "./page-phase.js";
import { projectPage } from "./page-project.js";
import { projectsPage } from "./page-projects.js";
import { loadMe } from "./session.js";

async function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  try {
    if (parts[0] === "projects" && parts.length === 2) await projectPage(parts[1]);
    else if (parts[0] === "projects" && parts[2] === "phases" && parts.length === 4) await phasePage(parts[1], parts[3]);
    else await projectsPage();
  } catch (err) {
    fill(view, refusal(err, "Show the page"));
  }
  document.title = ["svcflow", ...parts.filter((_, i) => i % 2 === 1)].join(" · ");
  view.dataset.ready = location.hash || "#/";
}

window.addEventListener("hashchange", () => { route().then(() => view.focus()); });
loadMe().then(() => { connectEvents(); return route(); }, () => { view.dataset.ready = "no-identity"; });
