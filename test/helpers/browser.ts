/**
 * A headless Chromium driven by playwright-core, for tests of the Node-RED editor. Debian's
 * `chromium` package provides the browser (`.ci/run` installs it); playwright-core comes from this
 * package's node_modules when present, else it is installed once into a cached temp folder.
 * Both are optional: `browserUnavailable()` says why a test must skip.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { cachedTools, PACKAGE_ROOT } from "../../sim/node-red";

/*
 * The few playwright-core calls the tests use, typed here so that this file compiles whether or
 * not playwright-core is installed in this package (it is loaded at run time).
 */
export interface Locator {
  click(options?: { timeout?: number; button?: "left" | "right" }): Promise<void>;
  dblclick(options?: { timeout?: number }): Promise<void>;
  fill(value: string): Promise<void>;
  pressSequentially(text: string, options?: { delay?: number }): Promise<void>;
  press(key: string): Promise<void>;
  selectOption(value: string): Promise<string[]>;
  dragTo(target: Locator, options?: { targetPosition?: { x: number; y: number } }): Promise<void>;
  waitFor(options?: { state?: "attached" | "detached" | "visible" | "hidden"; timeout?: number }): Promise<void>;
  isVisible(): Promise<boolean>;
  count(): Promise<number>;
  textContent(): Promise<string | null>;
  innerText(): Promise<string>;
  getAttribute(name: string): Promise<string | null>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  evaluate<R>(fn: (element: any) => R): Promise<R>;
  first(): Locator;
  nth(index: number): Locator;
  locator(selector: string, options?: { hasText?: string | RegExp }): Locator;
  allTextContents(): Promise<string[]>;
  screenshot(options: { path: string }): Promise<unknown>;
}

export interface Page {
  goto(url: string, options?: { waitUntil?: "load" | "domcontentloaded" | "networkidle"; timeout?: number }): Promise<unknown>;
  evaluate<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R>;
  waitForFunction<A>(fn: (arg: A) => unknown, arg?: A, options?: { timeout?: number; polling?: number }): Promise<unknown>;
  locator(selector: string, options?: { hasText?: string | RegExp }): Locator;
  on(event: "pageerror", listener: (error: Error) => void): void;
  on(event: "console", listener: (message: { type(): string; text(): string; location(): { url: string } }) => void): void;
  screenshot(options: { path: string; fullPage?: boolean }): Promise<unknown>;
  waitForTimeout(ms: number): Promise<void>;
  mouse: { click(x: number, y: number): Promise<void>; move(x: number, y: number): Promise<void> };
  keyboard: { press(key: string): Promise<void> };
  close(): Promise<void>;
}

export interface BrowserContext {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

interface Playwright {
  chromium: {
    launchPersistentContext(
      userDataDir: string,
      options: { executablePath: string; headless: boolean; locale: string; viewport: { width: number; height: number }; args: string[] },
    ): Promise<BrowserContext>;
  };
}

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const PLAYWRIGHT_SPEC = "playwright-core@1";

let playwright: Playwright | undefined;

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserUnavailable(): string | undefined {
  if (!fs.existsSync(CHROMIUM)) return `${CHROMIUM} not found (Debian: apt-get install chromium; or set CHROMIUM_PATH)`;
  try {
    playwright = requireFrom(PACKAGE_ROOT);
    return undefined;
  } catch {
    // Not a dependency of this package: use (or make) the cached copy.
  }
  const tools = cachedTools("playwright", [PLAYWRIGHT_SPEC]);
  if ("skip" in tools) return tools.skip;
  playwright = requireFrom(tools.dir);
  return undefined;
}

function requireFrom(dir: string): Playwright {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(require.resolve("playwright-core", { paths: [dir] })) as Playwright;
}

/**
 * Turns the editor's rotating info tips off for the anonymous user of a Node-RED user directory
 * (its `.config.users.json`). Node-RED's own tips timer can fire before the tips element exists
 * on a loaded machine ("Cannot read properties of undefined (reading 'html')" in red.min.js's
 * infotips), a page error that is not ours and would hide ours.
 */
export function withoutEditorTips(userDir: string): void {
  fs.mkdirSync(userDir, { recursive: true });
  fs.writeFileSync(path.join(userDir, ".config.users.json"), JSON.stringify({ _: { editor: { view: { "view-show-tips": false } } } }));
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Starts Chromium with a fresh profile. `locale` sets the browser language, which is what the
 * Node-RED editor uses to choose its message catalogues and help.
 */
export async function launchBrowser(options: { locale?: string } = {}): Promise<Browser> {
  if (!playwright && browserUnavailable()) throw new Error(browserUnavailable());
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "rp-chromium-"));
  const context = await playwright!.chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    locale: options.locale ?? "en-US",
    viewport: { width: 1400, height: 900 },
    // --no-sandbox: the tests may run as root (CI containers); the rest keeps Chromium from
    // reaching out to Google services while it runs.
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
