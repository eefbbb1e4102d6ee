// The web console in headless Chromium against the real stack (`cargo xtask test --only console`):
// an admin signs in, drops a CSV and an XLSX, previews, commits with progress, browses, filters,
// sorts, pages, profiles and exports, each number checked against the API; a client sees only
// its own data; markup in a file is shown as text and runs nothing. Screenshots and timings go to
// $CONSOLE_ARTIFACTS.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import puppeteer from "puppeteer-core";

const WORKER = process.env.WORKER_URL;
const ADMIN = { email: process.env.CONSOLE_ADMIN_EMAIL, password: process.env.CONSOLE_ADMIN_PASSWORD };
const ARTIFACTS = process.env.CONSOLE_ARTIFACTS ?? ".local/console-artifacts";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const RUN = `${process.pid}-${Date.now()}`;
const PASSWORD = "client-pass-123";
mkdirSync(ARTIFACTS, { recursive: true });

let browser;
let page;
const dialogs = [];
const metrics = {};

async function api(method, path, token, body) {
  const res = await fetch(`${WORKER}${path}`, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* a download */ }
  return { status: res.status, json, text };
}

async function token(email, password) {
  const r = await api("POST", "/api/auth/login", null, { email, password });
  assert.equal(r.status, 200, r.text);
  return r.json.access_token;
}

async function newPage(ctx) {
  const p = await ctx.newPage();
  await p.setViewport({ width: 1280, height: 800 });
  p.on("dialog", async (d) => {
    dialogs.push(d.message());
    // The delete confirm is the only dialog the console opens itself.
    if (d.type() === "confirm") await d.accept();
    else await d.dismiss();
  });
  return p;
}

async function signIn(p, email, password) {
  await visit(p, "#/login");
  await p.waitForSelector("#email");
  await p.type("#email", email);
  await p.type("#password", password);
  await p.keyboard.press("Enter");
  await p.waitForFunction(() => !location.hash.startsWith("#/login"));
}

/** A full page load of a console route (a changed query string), so every view starts fresh
 *  the way a user opening the link gets it; the session survives in sessionStorage. */
let loads = 0;
const visit = (p, hash) => p.goto(`${WORKER}/?load=${++loads}${hash}`, { waitUntil: "load" });

const shot = (p, name) => p.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: false });
const textOf = (p, sel) => p.$eval(sel, (e) => e.textContent ?? "");

/** Drops `bytes` as a file named `name` on the drop zone, as a user dragging it would. */
async function dropFile(p, name, type, bytes) {
  await p.evaluate(
    (name, type, b64) => {
      const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bin], name, { type }));
      const zone = document.getElementById("drop");
      zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    name,
    type,
    Buffer.from(bytes).toString("base64"),
  );
}

async function createThroughConsole(p, { company, email, file, type, bytes, viaPicker = false }) {
  await visit(p, `#/new`);
  await p.waitForSelector("#company");
  await p.type("#company", company);
  await p.type("#client-email", email);
  await p.type("#client-password", PASSWORD);
  if (viaPicker) {
    const path = `${ARTIFACTS}/${file}`;
    writeFileSync(path, bytes);
    const input = await p.$("#file");
    await input.uploadFile(path);
  } else {
    await dropFile(p, file, type, bytes);
  }
  await p.waitForSelector("#preview");
  // Progress events: remember every value the bar shows.
  await p.evaluate(() => {
    window.__progress = [];
    const bar = document.getElementById("progress");
    new MutationObserver(() => window.__progress.push(Number(bar.value))).observe(bar, { attributes: true });
    bar.addEventListener("change", () => {});
  });
  return p;
}

async function commit(p) {
  await p.click(".commit button[type=submit]");
  await p.waitForSelector("#result .ok, #result .error");
  const ok = await p.$("#result .ok");
  assert.ok(ok, `commit failed: ${await textOf(p, "#result")}`);
  const value = await p.$eval("#progress", (e) => e.value);
  assert.equal(value, 100, "the progress bar ends at 100 %");
  assert.match(await textOf(p, "#progress-label"), /100 %/);
  const href = await p.$eval("#open-data", (a) => a.getAttribute("href"));
  return href.split("/")[2];
}

const CSV_ROWS = 60;
const csv = ["Order ID,Amount,Status,Customer Email,Order Date"]
  .concat(
    Array.from({ length: CSV_ROWS }, (_, i) =>
      [i + 1, ((i * 37) % 100) + 0.5, i % 3 === 0 ? "shipped" : "pending", `c${i}@shop.example`, `2024-0${(i % 9) + 1}-1${i % 10}`].join(","),
    ),
  )
  .join("\n") + "\n";

let csvClient;
let adminToken;

before(async () => {
  assert.ok(WORKER && ADMIN.email && ADMIN.password, "run through `cargo xtask test --only console`");
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  page = await newPage(browser.defaultBrowserContext());
  adminToken = await token(ADMIN.email, ADMIN.password);
});

after(async () => {
  writeFileSync(`${ARTIFACTS}/metrics.json`, JSON.stringify(metrics, null, 2));
  console.log("console metrics:", JSON.stringify(metrics));
  await browser?.close();
});

test("the built console has no markup sink: no innerHTML, outerHTML, insertAdjacentHTML or document.write", () => {
  const bundle = readFileSync(new URL("../../build/console/console.js", import.meta.url), "utf8");
  for (const sink of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("]) {
    assert.ok(!bundle.includes(sink), `console.js uses ${sink}`);
  }
  const bytes = bundle.length;
  metrics.console_js_bytes = bytes;
});

test("an admin signs in and sees the client list with the API's total", async () => {
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForSelector("#clients");
  const list = await api("GET", "/api/superadmin/clients?limit=1", adminToken);
  const shown = await textOf(page, ".toolbar .status");
  assert.match(shown, new RegExp(`^${list.json.total} client`));
});

test("dropping a CSV previews it, nothing is stored until commit, progress reaches 100 %", async () => {
  const email = `csv-${RUN}@shop.example`;
  await createThroughConsole(page, { company: `CSV Shop ${RUN}`, email, file: "orders.csv", type: "text/csv", bytes: csv });
  const preview = await textOf(page, "#preview");
  assert.match(preview, /Data type ecommerce/);
  assert.match(preview, /Delimiter ","/);
  assert.match(preview, /order_date/);
  assert.match(preview, /email/);
  const shownRows = await page.$$eval("#preview-rows tbody tr", (r) => r.length);
  assert.equal(shownRows, 20, "the first 20 rows as stored");
  await shot(page, "console-preview");
  const before = await api("GET", `/api/superadmin/clients?search=${encodeURIComponent(email)}`, adminToken);
  assert.equal(before.json.total, 0, "the preview stored nothing");
  csvClient = await commit(page);
  await shot(page, "console-committed");
  const after = await api("GET", `/api/data/${csvClient}/count`, adminToken);
  assert.equal(after.json.count, CSV_ROWS);
});

test("an XLSX chosen with the file picker is previewed and stored", async () => {
  const bytes = readFileSync(new URL("./fixtures/stock.xlsx", import.meta.url));
  await createThroughConsole(page, {
    company: `XLSX Stock ${RUN}`,
    email: `xlsx-${RUN}@stock.example`,
    file: "stock.xlsx",
    bytes,
    viaPicker: true,
  });
  const preview = await textOf(page, "#preview");
  assert.match(preview, /Format xlsx/);
  assert.match(preview, /Sheet Stock/);
  assert.match(preview, /unit_price/);
  const id = await commit(page);
  const count = await api("GET", `/api/data/${id}/count`, adminToken);
  assert.equal(count.json.count, 30);
});

test("the data view pages, filters and sorts, and its numbers are the API's", async () => {
  const t0 = Date.now();
  await visit(page, `#/data/${csvClient}`);
  await page.waitForSelector("#data-grid tbody tr");
  metrics.data_view_first_paint_ms = Date.now() - t0;
  metrics.data_view_first_paint_in_page_ms = Number(await page.$eval("#app", (m) => m.dataset.firstPaint));
  // The 1 s first-paint target is measured (metrics.json, the note), never asserted: a busy
  // machine must not fail the suite.
  await shot(page, "console-data");
  assert.equal(await page.$eval("#total", (e) => e.dataset.total), String(CSV_ROWS));

  // Paging: 25 per page, the second page is the API's second page.
  await page.select("#limit", "25");
  await page.waitForFunction(() => document.querySelectorAll("#data-grid tbody tr").length === 25);
  const schema = await api("GET", `/api/data/${csvClient}/schema`, adminToken);
  const table = schema.json.tables[0].table_name;
  const p1 = await api("GET", `/api/data/${csvClient}?table=${table}&limit=25`, adminToken);
  const p2 = await api("GET", `/api/data/${csvClient}?table=${table}&limit=25&cursor=${encodeURIComponent(p1.json.next_cursor)}`, adminToken);
  await page.click("#next");
  await page.waitForFunction(() => document.getElementById("page-label")?.textContent === "26–50");
  const shownIds = await page.$$eval("#data-grid tbody tr", (rows) => rows.map((r) => Number(r.dataset.id)));
  assert.deepEqual(shownIds, p2.json.data.map((r) => r.id));
  await page.click("#prev");
  await page.waitForFunction(() => document.getElementById("page-label")?.textContent === "1–25");

  // A filter: the total shown is the API's count for the same filter.
  const openapi = await api("GET", "/api/openapi.json");
  const rich = (openapi.json.paths["/api/data/{client_id}"].get.parameters ?? []).some(
    (p) => p.name === "order" || p.$ref === "#/components/parameters/order",
  );
  metrics.query_language = rich;
  const filter = rich ? "gt.50" : "shipped";
  const field = rich ? "amount" : "status";
  const input = await page.$(`input.filter[data-key=${field}]`);
  await input.type(filter);
  await input.press("Enter");
  const expected = await api("GET", `/api/data/${csvClient}/count?table=${table}&${field}=${encodeURIComponent(filter)}`, adminToken);
  assert.equal(expected.status, 200, expected.text);
  await page.waitForFunction((n) => document.getElementById("total")?.dataset.total === String(n), {}, expected.json.count);
  assert.ok(expected.json.count > 0 && expected.json.count < CSV_ROWS, `filter keeps some rows: ${expected.json.count}`);

  // Sorting by amount: the column shown is in order, descending after a second click.
  const amounts = () => page.$$eval("#data-grid tbody tr", (rows) => rows.map((r) => Number(r.children[1].textContent)));
  await page.click("th[data-key=amount] button.sort");
  await page.waitForSelector("th[data-key=amount][aria-sort=ascending]");
  let shown = await amounts();
  assert.deepEqual(shown, [...shown].sort((a, b) => a - b));
  await page.click("th[data-key=amount] button.sort");
  await page.waitForSelector("th[data-key=amount][aria-sort=descending]");
  shown = await amounts();
  assert.deepEqual(shown, [...shown].sort((a, b) => b - a));
  // The total stays the filter's count while sorted.
  assert.equal(await page.$eval("#total", (e) => e.dataset.total), String(expected.json.count));
  if (rich) {
    const top = await api("GET", `/api/data/${csvClient}?table=${table}&limit=1&${field}=${filter}&order=amount.desc`, adminToken);
    assert.equal(shown[0], top.json.data[0].data.amount);
  }
  await shot(page, "console-data-filtered");

  // A value the column's type refuses: the API's message (and hint) are shown, not a blank grid.
  const bad = rich ? "gt.lots" : "gt.5";
  const refused = await api("GET", `/api/data/${csvClient}?table=${table}&amount=${bad}`, adminToken);
  const amountFilter = await page.$("input.filter[data-key=amount]");
  await amountFilter.click({ clickCount: 3 });
  await amountFilter.type(bad);
  await amountFilter.press("Enter");
  await page.waitForSelector("#data-status .error");
  const shownError = await textOf(page, "#data-status .error");
  if (rich) {
    assert.equal(refused.status, 400, refused.text);
    assert.ok(shownError.includes(refused.json.message), `${shownError} / ${refused.json.message}`);
    if (refused.json.hint) assert.ok(shownError.includes(refused.json.hint));
    assert.ok(shownError.includes(refused.json.code));
  } else {
    assert.match(shownError, /query language/);
  }
});

test("a profile shows a non-empty chart, or says it is not available", async () => {
  await page.click("th[data-key=amount] button.profile-btn");
  await page.waitForSelector("#profile-chart canvas, #profile-unavailable, #profile .error");
  const schema = await api("GET", `/api/data/${csvClient}/schema`, adminToken);
  const route = await api("GET", `/api/data/${csvClient}/profile?table=${schema.json.tables[0].table_name}`, adminToken);
  if (route.status === 404 && route.json?.code === "route_not_found") {
    assert.match(await textOf(page, "#profile"), /not available/);
    metrics.profile = "route not available";
    return;
  }
  assert.equal(route.status, 200, route.text);
  const painted = await page.$eval("#profile-chart canvas", (c) => {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  });
  assert.ok(painted > 500, `the chart drew ${painted} pixels`);
  metrics.profile = "chart";
  await (await page.$("#profile")).screenshot({ path: `${ARTIFACTS}/console-profile.png` });
});

test("export downloads exactly what the API exports", async () => {
  await visit(page, `#/data/${csvClient}`);
  await page.waitForSelector("#data-grid tbody tr");
  await page.click("#export-csv");
  await page.waitForSelector("#export-done");
  const bytes = Number(await page.$eval("#export-done", (e) => e.dataset.bytes));
  const schema = await api("GET", `/api/data/${csvClient}/schema`, adminToken);
  const direct = await api("GET", `/api/data/${csvClient}/export?table=${schema.json.tables[0].table_name}&format=csv`, adminToken);
  assert.equal(direct.status, 200);
  assert.equal(bytes, Buffer.byteLength(direct.text));
  assert.equal(direct.text.split("\n").filter(Boolean).length, CSV_ROWS + 1);
});

test("a client sees only its own data; another client's URL shows not found", async () => {
  const ctx = await browser.createBrowserContext();
  const p = await newPage(ctx);
  try {
    const email = `own-${RUN}@shop.example`;
    const created = await api("POST", "/api/superadmin/clients", adminToken, {
      company_name: `Own ${RUN}`, email, password: PASSWORD, data_type: "crm",
      data: [{ name: "only mine", n: 1 }, { name: "also mine", n: 2 }],
    });
    assert.equal(created.status, 201, created.text);
    const own = created.json.client.client_id;
    await signIn(p, email, PASSWORD);
    await p.waitForSelector("#data-grid tbody tr");
    assert.equal(await p.evaluate(() => location.hash), `#/data/${own}`);
    assert.equal(await p.$$eval("#data-grid tbody tr", (r) => r.length), 2);
    assert.equal(await p.$("a[href='#/clients']"), null, "no admin navigation for a client");
    await visit(p, `#/data/${csvClient}`);
    await p.waitForSelector("#app .error");
    assert.match(await textOf(p, "#app"), /Not found/);
    assert.equal(await p.$("#data-grid"), null);
    await shot(p, "console-client-not-found");
    await p.setViewport({ width: 390, height: 844 });
    await visit(p, `#/data/${own}`);
    await p.waitForSelector("#data-grid tbody tr");
    await shot(p, "console-phone");
  } finally {
    await ctx.close();
  }
});

test("markup in headers and cells is shown as text and runs nothing", async () => {
  const evil = [
    `"<script>window.__pwned='header'</script>",<img src=x onerror="window.__pwned='img'">,link`,
    `"<script>window.__pwned='cell'</script>","<img src=x onerror=""window.__pwned='cellimg'"">",javascript:window.__pwned='js'`,
    `<b>bold</b>,"<a href=""javascript:alert(1)"">x</a>",javascript:alert(document.domain)`,
  ].join("\n") + "\n";
  dialogs.length = 0;
  await createThroughConsole(page, { company: `<script>alert(1)</script> ${RUN}`, email: `xss-${RUN}@evil.example`, file: "evil.csv", type: "text/csv", bytes: evil });
  const preview = await textOf(page, "#preview");
  assert.ok(preview.includes("<script>window.__pwned='header'</script>"), preview);
  assert.ok(preview.includes(`<img src=x onerror="window.__pwned='img'">`), preview);
  const id = await commit(page);
  await visit(page, `#/data/${id}`);
  await page.waitForSelector("#data-grid tbody tr");
  const grid = await textOf(page, "#data-grid");
  assert.ok(grid.includes("<script>window.__pwned='cell'</script>"), grid);
  assert.ok(grid.includes("javascript:alert(document.domain)"), grid);
  assert.ok(grid.includes("<b>bold</b>"), grid);
  await visit(page, `#/clients`);
  await page.waitForSelector("#clients");
  const injected = await page.evaluate(() => ({
    pwned: window.__pwned ?? null,
    nodes: document.querySelectorAll("main script, main img, main b, main iframe, main a[href^='javascript']").length,
  }));
  assert.deepEqual(injected, { pwned: null, nodes: 0 });
  assert.deepEqual(dialogs, [], "no alert or other dialog opened");
});

test("an admin deletes a client after confirming", async () => {
  const email = `gone-${RUN}@shop.example`;
  const created = await api("POST", "/api/superadmin/clients", adminToken, { company_name: `Gone ${RUN}`, email, data_type: "crm", data: [{ a: 1 }] });
  const id = created.json.client.client_id;
  await visit(page, `#/clients`);
  await page.waitForSelector("#clients");
  await page.type("#client-search", email);
  await page.waitForSelector(`tr[data-client='${id}']`);
  dialogs.length = 0;
  await page.click(`tr[data-client='${id}'] button.danger`);
  await page.waitForFunction((id) => !document.querySelector(`tr[data-client='${id}']`), {}, id);
  assert.equal(dialogs.length, 1);
  const gone = await api("GET", `/api/data/${id}/count`, adminToken);
  assert.equal(gone.status, 404);
});
