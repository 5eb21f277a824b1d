// The dashboard in a real browser: Debian's chromium, driven by playwright-core, one browser per
// user. Each user's client certificate is in that browser's NSS store (its own HOME) and a managed
// policy selects it for the gateways' origins (tests/dashboard_test.sh prepares both): the pages
// authenticate exactly as a person's browser would.
//
// Prints one "ok   NAME (Ns)" or "FAIL NAME" line per check (as tests/lib.sh does) and, last,
// "#counts PASSED FAILED" for the suite to add up. Env: GW1..GW3 (gateway origins), HOME1..HOME3
// (NSS homes), OUT (screenshots), PROJECT (a fresh project id), UPLOAD (a file to upload),
// TAMPER (a command that alters a stored object, given its key).
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { chromium } from "playwright-core";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const OUT = env("OUT");
const PROJECT = env("PROJECT");
const UPLOAD = env("UPLOAD");
mkdirSync(OUT, { recursive: true });

let passed = 0;
let failed = 0;
async function check(name, fn) {
  const t0 = Date.now();
  try {
    const note = await fn();
    passed++;
    console.log(`ok   ${name}${note ? `: ${note}` : ""} (${Math.round((Date.now() - t0) / 1000)}s)`);
    return true;
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}\n${String(e && e.stack ? e.message : e).split("\n").slice(0, 12).map((l) => `     | ${l}`).join("\n")}`);
    return false;
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

// The browser's console: any error fails the run, but for the refusals a test provokes on
// purpose (Chromium logs every 4xx answer to a fetch as "Failed to load resource").
const consoleErrors = [];
async function openBrowser({ who, home, origin }) {
  const ctx = await chromium.launchPersistentContext(`${home}/profile`, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    // The machine has no internet: keep Chromium from calling home, which only fills the log.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    env: { ...process.env, HOME: home },
  });
  const page = ctx.pages()[0] || (await ctx.newPage());
  const user = { who, ctx, page, origin, expected: [] };
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const url = m.location().url || "";
    if (user.expected.some((e) => e.test(`${m.text()} ${url}`))) return;
    consoleErrors.push(`${who}: ${m.text()} ${url}`);
  });
  page.on("pageerror", (e) => consoleErrors.push(`${who}: uncaught ${e.message}`));
  return user;
}

async function go(user, hash, ready) {
  await user.page.goto(`${user.origin}/${hash}`);
  await user.page.waitForSelector(ready, { timeout: 20000 });
}
const shot = (user, name) => user.page.screenshot({ path: `${OUT}/${name}.png`, fullPage: true });

/** At 390 px nothing is wider than the screen; the page is shot there too. */
async function narrow(user, name) {
  const p = user.page;
  await p.setViewportSize({ width: 390, height: 844 });
  await p.waitForTimeout(100);
  const wide = await p.evaluate(() => document.documentElement.scrollWidth);
  const culprits = await p.evaluate(() => [...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > 391).slice(0, 6).map((e) => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`));
  await p.screenshot({ path: `${OUT}/${name}-390.png`, fullPage: true });
  await p.setViewportSize({ width: 1280, height: 900 });
  assert(wide <= 390, `the page is ${wide} px wide at a 390 px viewport: ${culprits.join(", ")}`);
  return `${wide} px`;
}

/** Every control is named (label or aria-label) and Tab reaches every visible one. */
async function accessible(user) {
  const p = user.page;
  const unnamed = await p.evaluate(() =>
    [...document.querySelectorAll("input, select, textarea, button, a[href]")]
      .filter((el) => el.offsetParent !== null)
      .filter((el) => !((el.labels && el.labels.length) || el.getAttribute("aria-label") || el.textContent.trim()))
      .map((el) => el.outerHTML.slice(0, 80)),
  );
  assert(unnamed.length === 0, `controls without a name: ${unnamed.join(", ")}`);
  const total = await p.evaluate(() => {
    document.querySelectorAll("[data-tab-seen]").forEach((e) => e.removeAttribute("data-tab-seen"));
    document.activeElement && document.activeElement.blur();
    return [...document.querySelectorAll("input, select, textarea, button:not([disabled]), a[href]")].filter((el) => el.offsetParent !== null).length;
  });
  await p.evaluate(() => window.scrollTo(0, 0));
  // Scrollable boxes take a Tab stop of their own in Chromium: room for them too.
  for (let i = 0; i < 2 * total + 20; i++) {
    await p.keyboard.press("Tab");
    await p.evaluate(() => document.activeElement && document.activeElement.setAttribute("data-tab-seen", ""));
  }
  const missed = await p.evaluate(() =>
    [...document.querySelectorAll("input, select, textarea, button:not([disabled]), a[href]")]
      .filter((el) => el.offsetParent !== null && !el.hasAttribute("data-tab-seen"))
      .map((el) => el.outerHTML.slice(0, 80)),
  );
  assert(missed.length === 0, `Tab never reaches: ${missed.join(", ")}`);
  return `${total} controls`;
}

async function notice(page, scope) {
  const n = page.locator(`${scope} .notice, ${scope} .refusal`).first();
  await n.waitFor({ timeout: 30000 });
  const cls = await n.getAttribute("class");
  if (cls.includes("refusal")) throw new Error(`refused: ${await n.innerText()}`);
  return { tx: await n.getAttribute("data-tx"), block: await n.getAttribute("data-block"), text: await n.innerText() };
}

/** JSON with object keys sorted: the ledger keeps a document's keys in its own order. */
const canonical = (v) => JSON.stringify(v, (_, x) => (x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort()) : x));
/** A file's verify badge once it has a verdict: its state, text and colour read in one step. An
 *  event redraws the list under the test (the verdict is drawn again), so a read that finds the
 *  badge detached (no computed colour) is made again. */
async function badgeOf(page, fileId) {
  const badge = page.locator(`[data-verify="${fileId}"] .badge[data-state]`);
  for (let i = 0; ; i++) {
    await badge.waitFor({ timeout: 30000 });
    const got = await badge.evaluate((e) => ({ state: e.dataset.state, text: e.textContent, color: e.isConnected ? getComputedStyle(e).color : "" }));
    if (got.color || i >= 20) return got;
    await page.waitForTimeout(100);
  }
}
const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");
const who = (n) => ({ who: `Org${n} User1`, home: env(`HOME${n}`), origin: env(`GW${n}`) });

const u1 = await openBrowser(who(1));
const u2 = await openBrowser(who(2));
const u3 = await openBrowser(who(3));
const doc = { title: `dashboard ${PROJECT}`, secret: `only Org1 and Org2 ${PROJECT}` };
let fileId = "";
let recordTx = "";

try {
  // ---- Org1 User1: who am I, projects ----------------------------------------------------------
  await check("Org1 User1's browser presents its certificate: the page shows who they are", async () => {
    await go(u1, "#/", "#view[data-ready] #create-project");
    const me = await u1.page.locator("#me").innerText();
    assert(/User1@org1/.test(me) && /Org1MSP/.test(me) && /client/.test(me), `#me shows '${me}'`);
    await shot(u1, "projects");
    return me.replace(/\s+/g, " ");
  });
  await check("the page's live-event stream opens at once (status: live)", async () => {
    await u1.page.locator("#live.on").waitFor({ timeout: 3000 });
  });
  await check("projects page: every control named and reachable by Tab", () => accessible(u1));
  await check("projects page fits 390 px", () => narrow(u1, "projects"));

  await check("Org1 creates a project through the form", async () => {
    const f = u1.page.locator("#create-project");
    await f.getByLabel("Project id").fill(PROJECT);
    await f.getByLabel("Name").fill(`Bridge ${PROJECT}`);
    await f.getByLabel("Description").fill("made by the dashboard suite");
    await f.getByRole("button", { name: "Create project" }).click();
    const n = await notice(u1.page, "main");
    return `tx ${n.tx.slice(0, 12)} block ${n.block}`;
  });
  await check("the project list pages by bookmark until the new project shows", async () => {
    // Other suites' projects come first in a shared ledger: page on (projects are listed by id).
    let pages = 1;
    while (!(await u1.page.locator(`tr[data-project="${PROJECT}"]`).count())) {
      const next = u1.page.getByRole("button", { name: "Next page" });
      assert(await next.isEnabled(), `not on any of ${pages} pages`);
      await next.click();
      pages++;
      await u1.page.waitForFunction((n) => document.querySelector(".pager .meta")?.textContent === `page ${n}`, pages, { timeout: 10000 });
    }
    return `on page ${pages}`;
  });

  // ---- Org1: the project's flow ----------------------------------------------------------------
  const addPhase = async (id, name, orgs) => {
    const f = u1.page.locator("#add-phase");
    await f.getByLabel("Phase id").fill(id);
    await f.getByLabel("Name", { exact: true }).fill(name);
    for (let i = 1; i < orgs.length; i++) await f.getByRole("button", { name: "Add participant" }).click();
    for (let i = 0; i < orgs.length; i++) await f.getByLabel(`Org (MSP id) ${i + 1}`).fill(orgs[i]);
    await f.getByRole("button", { name: "Add phase" }).click();
    await u1.page.locator(`li.phase-card[data-phase="${id}"]`).waitFor({ timeout: 30000 });
  };
  await check("Org1 adds phases design {Org1, Org2}, build {Org1}, review {Org1, Org2, Org3}", async () => {
    await u1.page.getByRole("link", { name: `Open ${PROJECT}` }).click();
    await u1.page.waitForSelector("#add-phase");
    await addPhase("design", "Design", ["Org1MSP", "Org2MSP"]);
    await addPhase("build", "Build", ["Org1MSP"]);
    await addPhase("review", "Review", ["Org1MSP", "Org2MSP", "Org3MSP"]);
    const order = await u1.page.locator("li.phase-card").evaluateAll((els) => els.map((e) => e.dataset.phase));
    assert(order.join() === "design,build,review", `flow order ${order}`);
  });
  await check("the flow draws each phase's participants as lanes", async () => {
    const lanes = await u1.page.locator('li.phase-card[data-phase="design"] .lane').allInnerTexts();
    assert(lanes.join() === "Org1MSP,Org2MSP", `design's lanes: ${lanes}`);
    const review = await u1.page.locator('li.phase-card[data-phase="review"] .lane').allInnerTexts();
    assert(review.length === 3, `review's lanes: ${review}`);
  });
  await check("Org1 moves review earlier: the flow is redrawn in the new order", async () => {
    await u1.page.locator('li.phase-card[data-phase="review"]').getByRole("button", { name: "◀ Earlier" }).click();
    await notice(u1.page, "#flow-title + div");
    await u1.page.waitForFunction(() => [...document.querySelectorAll("li.phase-card")].map((e) => e.dataset.phase).join() === "design,review,build", null, { timeout: 10000 });
  });
  await check("Org1 activates design: its badge turns active", async () => {
    await u1.page.locator('li.phase-card[data-phase="design"]').getByRole("button", { name: "Activate" }).click();
    await u1.page.locator('li.phase-card[data-phase="design"] [data-status="active"]').waitFor({ timeout: 30000 });
  });
  // ---- a page of another origin, in Org1 User1's browser (issue 22) -------------------------------
  // The browser presents User1's certificate to the gateway whichever page asks. A page served
  // from another origin (http://127.0.0.1:<port>, cross-site to the gateway) sends what it may
  // without asking the gateway: no-cors fetches with text/plain bodies and form POSTs. The
  // gateway refuses them all (403: Origin, Sec-Fetch-Site; JSON only as application/json).
  await check("a page of another origin makes Org1's browser POST a project, a phase, an upload and an activate: all refused, nothing changed", async () => {
    const gw = env("GW1");
    const base = `/v1/projects/${PROJECT}`;
    const get = (path) => u1.page.evaluate(async (p) => {
      const r = await fetch(p);
      return { status: r.status, body: await r.text() };
    }, path);
    const refusedPosts = async () => {
      const text = (await get("/metrics")).body;
      return text.split("\n").filter((l) => l.startsWith("svcflow_http_requests_total{") && l.includes('method="POST"') && l.includes('status="403"'))
        .reduce((n, l) => n + Number(l.split(" ").pop()), 0);
    };
    const reviewBefore = JSON.parse((await get(`${base}/phases/review`)).body).status;
    const refusedBefore = await refusedPosts();
    const server = createServer((_, res) => res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>elsewhere</title><p>another site"));
    await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
    const foreign = await u1.ctx.newPage();
    try {
      const origin = `http://127.0.0.1:${server.address().port}`;
      await foreign.goto(`${origin}/`);
      await foreign.evaluate(async ({ gw, base, project }) => {
        const noCors = (path, body) => fetch(gw + path, { method: "POST", mode: "no-cors", credentials: "include", headers: { "Content-Type": "text/plain" }, body });
        await noCors("/v1/projects", JSON.stringify({ id: `${project}-xo`, name: "from elsewhere" }));
        await noCors(`${base}/phases`, JSON.stringify({ id: "xphase", name: "from elsewhere", participants: [{ msp_id: "Org3MSP" }] }));
        await noCors(`${base}/phases/design/files?name=xo.txt&id=xo`, "bytes from elsewhere");
        // Forms: one whose text/plain body is JSON, one with no body at all.
        // Done once the frame holds the gateway's answer: a document of another origin, which
        // this page may not read (its first, same-origin load is about:blank).
        const post = (action, fields) => new Promise((done, fail) => {
          const sink = Object.assign(document.createElement("iframe"), { name: `sink${Math.random()}` });
          const giveUp = setTimeout(() => fail(new Error(`no answer to the form POST to ${action} in 15 s`)), 15000);
          sink.addEventListener("load", () => {
            try {
              void sink.contentWindow.location.href;
            } catch {
              clearTimeout(giveUp);
              done();
            }
          });
          document.body.append(sink);
          const form = Object.assign(document.createElement("form"), { method: "POST", action: gw + action, target: sink.name, enctype: "text/plain" });
          for (const [name, value] of fields) form.append(Object.assign(document.createElement("input"), { type: "hidden", name, value }));
          document.body.append(form);
          form.submit();
        });
        await post("/v1/projects", [[`{"id":"${project}-xf","name":"x`, '"}']]);
        await post(`${base}/phases/review/activate`, []);
      }, { gw, base, project: PROJECT });
    } finally {
      await foreign.close();
      server.close();
    }
    u1.expected.push(new RegExp(`status of 404.*(${PROJECT}-x[of]|/phases/xphase|/files/xo)`));
    for (const path of [`/v1/projects/${PROJECT}-xo`, `/v1/projects/${PROJECT}-xf`, `${base}/phases/xphase`, `${base}/phases/design/files/xo`]) {
      const r = await get(path);
      assert(r.status === 404, `${path} answers ${r.status}: made by the foreign page? ${r.body.slice(0, 200)}`);
    }
    const reviewAfter = JSON.parse((await get(`${base}/phases/review`)).body).status;
    assert(reviewAfter === reviewBefore, `review went from ${reviewBefore} to ${reviewAfter}`);
    // The five requests did reach the gateway (the browser sent them with the certificate) and
    // were refused there.
    let refused = 0;
    for (let i = 0; i < 50 && refused < 5; i++) {
      if (i) await u1.page.waitForTimeout(200);
      refused = (await refusedPosts()) - refusedBefore;
    }
    assert(refused >= 5, `the gateway refused ${refused} POSTs, wanted the foreign page's 5`);
    return `${refused} POSTs refused with 403, review still ${reviewAfter}`;
  });

  await check("Org1 changes build's participants (adds an identity of Org1 by role)", async () => {
    const card = u1.page.locator('li.phase-card[data-phase="build"]');
    await card.getByRole("button", { name: "Participants…" }).click();
    const form = u1.page.locator('form[data-edit="build"]');
    await form.getByRole("button", { name: "Add participant" }).click();
    await form.getByLabel("Org (MSP id) 2").fill("Org1MSP");
    await form.getByLabel("Role").nth(1).selectOption("admin");
    await form.getByRole("button", { name: "Save participants" }).click();
    await u1.page.waitForFunction(() => [...document.querySelectorAll('li.phase-card[data-phase="build"] .lane')].some((l) => l.textContent.includes("admins")), null, { timeout: 30000 });
  });
  await check("project page: every control named and reachable by Tab (participants form open); screenshot", async () => {
    const note = await accessible(u1);
    await u1.page.reload();
    await u1.page.locator('li.phase-card[data-phase="build"]').waitFor({ timeout: 20000 });
    await shot(u1, "project");
    return note;
  });
  await check("project page fits 390 px (the flow becomes a column)", () => narrow(u1, "project"));

  // ---- Org1: a phase's records and files -------------------------------------------------------
  await check("Org1 puts a record on design through the form", async () => {
    await go(u1, `#/projects/${PROJECT}/phases/design`, "#put-record");
    const f = u1.page.locator("#put-record");
    await f.getByLabel("Record id").fill("spec");
    await f.getByLabel("Document (JSON)").fill(JSON.stringify(doc));
    await f.getByRole("button", { name: "Put record" }).click();
    const n = await notice(u1.page, "#put-record + div");
    recordTx = n.tx;
    await u1.page.locator('tr[data-record="spec"]').waitFor({ timeout: 10000 });
    return `tx ${n.tx.slice(0, 12)} block ${n.block}`;
  });
  await check("a JSON error in the form is shown, nothing sent", async () => {
    const f = u1.page.locator("#put-record");
    await f.getByLabel("Record id").fill("broken");
    await f.getByLabel("Document (JSON)").fill("{not json");
    await f.getByRole("button", { name: "Put record" }).click();
    await u1.page.locator('#put-record + div .refusal[data-code="bad_json"]').waitFor({ timeout: 5000 });
    assert((await u1.page.locator('tr[data-record="broken"]').count()) === 0, "a record 'broken' appeared");
  });
  const upload = readFileSync(UPLOAD);
  await check(`Org1 uploads a ${(upload.length / 1048576).toFixed(1)} MiB file with a progress bar`, async () => {
    const f = u1.page.locator("#upload-file");
    await f.getByLabel("File").setInputFiles(UPLOAD);
    await f.getByRole("button", { name: "Upload" }).click();
    const n = await notice(u1.page, "#upload-file");
    const progress = await f.locator("progress").evaluate((e) => e.value);
    assert(progress === 100, `progress bar at ${progress}`);
    const row = u1.page.locator("tr[data-file]").first();
    await row.waitFor({ timeout: 10000 });
    fileId = await row.getAttribute("data-file");
    return `file ${fileId}, tx ${n.tx.slice(0, 12)} block ${n.block}`;
  });
  await check("Org1 verifies it: the badge shows the anchor's tx id and block, in green", async () => {
    await u1.page.locator(`tr[data-file="${fileId}"]`).getByRole("button", { name: "Verify" }).click();
    const { state, text, color } = await badgeOf(u1.page, fileId);
    assert(state === "verified" && /tx [0-9a-f]{6}/.test(text) && /block \d+/.test(text), `badge: ${state} '${text}'`);
    assert(color === "rgb(26, 127, 55)", `badge colour ${color}`);
    return text;
  });
  await check("phase page: screenshot, every control named and reachable by Tab", async () => {
    await u1.page.locator('tr[data-record="spec"] button').click();
    await u1.page.locator('pre[data-document="spec"]').waitFor();
    await shot(u1, "phase");
    return accessible(u1);
  });
  await check("phase page fits 390 px", () => narrow(u1, "phase"));

  // ---- Org2 User1: sees both, downloads the file -----------------------------------------------
  await check("Org2 User1 sees the record and its author", async () => {
    await go(u2, `#/projects/${PROJECT}/phases/design`, 'tr[data-record="spec"]');
    await u2.page.locator('tr[data-record="spec"] button').click();
    const shown = await u2.page.locator('pre[data-document="spec"]').innerText();
    assert(canonical(JSON.parse(shown)) === canonical(doc), `document shown: ${shown}`);
    const row = await u2.page.locator('tr[data-record="spec"]').innerText();
    assert(/User1@org1/.test(row) && /v1/.test(row), `row: ${row}`);
  });
  await check("Org2 User1 downloads the file: the bytes are the uploaded ones", async () => {
    const [dl] = await Promise.all([
      u2.page.waitForEvent("download", { timeout: 30000 }),
      u2.page.locator(`tr[data-file="${fileId}"]`).getByRole("link", { name: "Download" }).click(),
    ]);
    const path = `${OUT}/download-org2.bin`;
    await dl.saveAs(path);
    const got = readFileSync(path);
    rmSync(path);
    assert(got.length === upload.length && sha256(got) === sha256(upload), `downloaded ${got.length} bytes, sha256 ${sha256(got)}; uploaded ${upload.length}, ${sha256(upload)}`);
    return `${got.length} bytes, sha256 ${sha256(got).slice(0, 16)}…`;
  });
  await check("Org2's verify badge is green too", async () => {
    await u2.page.locator(`tr[data-file="${fileId}"]`).getByRole("button", { name: "Verify" }).click();
    const badge = u2.page.locator(`[data-verify="${fileId}"] .badge[data-state]`);
    await badge.waitFor({ timeout: 30000 });
    assert((await badge.getAttribute("data-state")) === "verified", await badge.innerText());
  });

  // ---- Org3 User1: sees the phase, refused its contents ----------------------------------------
  u3.expected.push(/status of 403.*\/phases\/design\/(records|files)\?/, /status of 403.*\/phases\/review\/activate/);
  await check("Org3 User1 sees the project's flow with the design phase", async () => {
    await go(u3, `#/projects/${PROJECT}`, 'li.phase-card[data-phase="design"]');
    const lanes = await u3.page.locator('li.phase-card[data-phase="design"] .lane').allInnerTexts();
    assert(lanes.join() === "Org1MSP,Org2MSP", `lanes ${lanes}`);
  });
  await check("Org3 may not manage the project: the page shows the 403 and why", async () => {
    await u3.page.locator('li.phase-card[data-phase="review"]').getByRole("button", { name: "Activate" }).click();
    const r = u3.page.locator('#flow-title + div .refusal[data-status="403"]');
    await r.waitFor({ timeout: 10000 });
    const text = await r.innerText();
    assert(/owner/.test(text), text);
    return text.split("\n")[1];
  });
  await check("Org3 opens design: records and files refused on the page with the API's reason", async () => {
    await go(u3, `#/projects/${PROJECT}/phases/design`, "#view[data-ready]");
    for (const list of ["records", "files"]) {
      const r = u3.page.locator(`[data-list="${list}"] .refusal[data-status="403"]`);
      await r.waitFor({ timeout: 10000 });
      const body = JSON.parse(await r.locator("pre").innerText());
      assert(body.code && body.message && /participant|member/i.test(body.message), `${list}: ${JSON.stringify(body)}`);
    }
    assert((await u3.page.locator('tr[data-record], tr[data-file]').count()) === 0, "Org3 sees rows");
    const text = await u3.page.locator("main").innerText();
    assert(!text.includes(doc.secret) && !text.includes(fileId), "Org3's page shows design's contents");
    await shot(u3, "phase-refused");
    return (await u3.page.locator('[data-list="records"] .refusal div').innerText());
  });

  // ---- live: an event on open pages, no reload --------------------------------------------------
  await check("an event reaches Org2's open page within 2 s of its commit, and its list redraws; Org3's page gets none", async () => {
    await u2.page.evaluate(() => { window.__noReload = true; });
    await u3.page.evaluate(() => { window.__noReload = true; });
    const f = u1.page.locator("#put-record");
    await f.getByLabel("Record id").fill("spec");
    await f.getByLabel("Document (JSON)").fill(JSON.stringify({ ...doc, revision: 2 }));
    await f.getByRole("button", { name: "Put record" }).click();
    const n = await notice(u1.page, "#put-record + div");
    const committedAt = Date.now();
    const ev = u2.page.locator(`#event-list li[data-event="RecordPut"][data-tx="${n.tx}"]`);
    await ev.waitFor({ timeout: Math.max(1, 2000 - (Date.now() - committedAt)) });
    const seenAt = Number(await ev.getAttribute("data-received"));
    await u2.page.waitForFunction(() => /v2/.test(document.querySelector('tr[data-record="spec"]')?.textContent || ""), null, { timeout: 5000 });
    assert(await u2.page.evaluate(() => window.__noReload === true), "Org2's page reloaded");
    await shot(u2, "phase-live-event");
    // Org3's stream carries project events only for this project's phases it takes part in.
    await u3.page.waitForTimeout(1000);
    const leaked = await u3.page.locator(`#event-list li[data-tx="${n.tx}"]`).count();
    assert(leaked === 0, "Org3's page got the RecordPut of a phase it is not in");
    assert(await u3.page.evaluate(() => window.__noReload === true), "Org3's page reloaded");
    return `event shown ${seenAt - committedAt} ms after the writer saw the commit (tx ${n.tx.slice(0, 12)}, first put ${recordTx.slice(0, 12)})`;
  });

  // ---- a stored object that fails: the badge goes red ------------------------------------------
  await check("the stored object is altered behind the gateway: Org1's verify badge goes red", async () => {
    const key = await u1.page.evaluate(async (url) => (await (await fetch(url)).json()).object_key, `/v1/projects/${PROJECT}/phases/design/files/${fileId}`);
    execFileSync("bash", ["-c", `${env("TAMPER")} "$1"`, "tamper", key], { stdio: "pipe" });
    await u1.page.reload();
    await u1.page.waitForSelector(`tr[data-file="${fileId}"]`, { timeout: 20000 });
    await u1.page.locator(`tr[data-file="${fileId}"]`).getByRole("button", { name: "Verify" }).click();
    const { state, text, color } = await badgeOf(u1.page, fileId);
    assert(state === "failed" && color === "rgb(207, 34, 46)", `badge ${state} ${color}: ${text}`);
    await shot(u1, "phase-verify-failed");
    return text;
  });

  // ---- consent: a newcomer to a phase holding data waits for the other participant org -----------
  await check("Org1 proposes Org3 for design: Org2's phase page shows the proposal, Org2 approves it there", async () => {
    await go(u1, `#/projects/${PROJECT}`, "#view[data-ready]");
    const card = u1.page.locator('li.phase-card[data-phase="design"]');
    await card.getByRole("button", { name: "Participants…" }).click();
    const form = u1.page.locator('form[data-edit="design"]');
    await form.getByRole("button", { name: "Add participant" }).click();
    await form.getByLabel("Org (MSP id) 3").fill("Org3MSP");
    await form.getByRole("button", { name: "Save participants" }).click();
    await go(u2, `#/projects/${PROJECT}/phases/design`, "#view[data-ready]");
    const notice = u2.page.locator("[data-proposal]");
    await notice.waitFor({ timeout: 30000 });
    const text = await notice.innerText();
    assert(text.includes("Org3MSP") && text.includes("waiting for Org2MSP"), text);
    await shot(u2, "phase-proposal");
    await notice.getByRole("button", { name: "Approve for my org" }).click();
    await u2.page.locator("[data-proposal]").waitFor({ state: "detached", timeout: 30000 });
    return text.split("\n")[0];
  });

  await check("no JavaScript console error on any page (but the refusals provoked above)", async () => {
    assert(consoleErrors.length === 0, consoleErrors.join("\n"));
  });
} catch (e) {
  failed++;
  console.log(`FAIL the browser run stopped\n     | ${String(e && e.stack ? e.stack : e).split("\n").slice(0, 8).join("\n     | ")}`);
} finally {
  for (const u of [u1, u2, u3]) await u.ctx.close().catch(() => {});
}
console.log(`#counts ${passed} ${failed}`);
process.exit(failed ? 1 : 0);
