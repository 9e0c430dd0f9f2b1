import { startTestServer } from "../helpers/server.js";
import { launchBrowser } from "./browser.js";
import { buildEditor } from "./build-editor.js";
const built = await buildEditor();
const srv = await startTestServer({ editorDir: built.dir });
const browser = await launchBrowser();
const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
page.on("console", (m) => m.type() !== "info" && console.log("console:", m.type(), m.text()));
page.on("pageerror", (e) => console.log("pageerror:", e.message));
await page.goto(srv.url);
await page.evaluate(() => window.mudi.ready);
const which = process.argv[2] ?? "mudi-generate";
await page.click("[data-action=examples]");
await page.screenshot({ path: "/tmp/dev/e-menu.png" });
await page.click(`.mudi-menu-item:has-text('${which}')`);
await page.waitForTimeout(500);
await page.screenshot({ path: `/tmp/dev/f-${which}.png` });
await page.click("[data-action=run]");
const t0 = Date.now();
let shot = 0;
while (Date.now() - t0 < 60000) {
  await page.waitForTimeout(700);
  const states = await page.evaluate(() => window.mudi.nodeIds().map((id) => `${id}:${window.mudi.node(id)!.badge}`).join(" "));
  console.log(Math.round((Date.now() - t0) / 100) / 10, states);
  if (shot === 0 && /running/.test(states)) { await page.screenshot({ path: `/tmp/dev/g-${which}-running.png` }); shot = 1; }
  const q = await page.evaluate(() => document.querySelector(".mudi-toolbar [data-action=queue]")!.textContent);
  if (q === "Queue" && Date.now() - t0 > 1500) break;
}
await page.screenshot({ path: `/tmp/dev/h-${which}-done.png` });
await browser.close(); await srv.close(); await built.remove();
