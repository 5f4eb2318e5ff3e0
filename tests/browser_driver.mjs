// One headless Chromium for a test session, driven through playwright-core: reads one JSON
// command a line on stdin, answers one JSON line on stdout (tests/browser.py).
//   node browser_driver.mjs NODE_MODULES CHROMIUM USER_DATA_DIR
import { createRequire } from "node:module";
import path from "node:path";
import readline from "node:readline";

const [nodeModules, executablePath, userDataDir] = process.argv.slice(2);
const require = createRequire(path.join(nodeModules, "noop.js"));
const { chromium } = require("playwright-core");

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  viewport: { width: 1400, height: 900 },
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
// Nothing may be fetched: every request but the page's own file fails the test.
const requests = [];
await context.route("**/*", (route) => {
  const url = route.request().url();
  if (url.startsWith("file:") || url.startsWith("data:")) return route.continue();
  requests.push(url);
  return route.abort();
});
const page = context.pages()[0] || (await context.newPage());
let errors = [];
page.on("console", (message) => {
  if (message.type() === "error") errors.push(message.text());
});
page.on("pageerror", (error) => errors.push(String(error)));

const commands = {
  async open({ url }) {
    errors = [];
    requests.length = 0;
    await page.goto(url, { waitUntil: "load" });
    return null;
  },
  async problems() {
    return { errors, requests: [...requests] };
  },
  async evaluate({ script }) {
    // an expression, or a function called without arguments
    return await page.evaluate(`(async () => { const v = (${script}); return typeof v === "function" ? await v() : v; })()`);
  },
  async click({ selector }) {
    await page.locator(selector).first().click({ timeout: 5000 });
    return null;
  },
  async fill({ selector, text }) {
    await page.locator(selector).first().fill(text, { timeout: 5000 });
    return null;
  },
  async press({ selector, key }) {
    await page.locator(selector).first().press(key, { timeout: 5000 });
    return null;
  },
  async wheel({ selector, deltaY }) {
    const box = await page.locator(selector).first().boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, deltaY);
    return null;
  },
  async drag({ selector, dx, dy }) {
    const box = await page.locator(selector).first().boundingBox();
    const x = box.x + box.width / 2, y = box.y + box.height / 2;
    await page.mouse.move(x, y);
    await page.mouse.down();
    await page.mouse.move(x + dx, y + dy, { steps: 5 });
    await page.mouse.up();
    return null;
  },
  async screenshot({ path: file }) {
    await page.screenshot({ path: file });
    return file;
  },
};

process.stdout.write(JSON.stringify({ ready: true }) + "\n");
const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  const command = JSON.parse(line);
  try {
    const value = await commands[command.op](command);
    process.stdout.write(JSON.stringify({ value: value === undefined ? null : value }) + "\n");
  } catch (error) {
    process.stdout.write(JSON.stringify({ error: String(error && error.message ? error.message : error) }) + "\n");
  }
}
await context.close();
