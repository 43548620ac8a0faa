// Shared helpers for the end-to-end tests: real headless Chromium with the
// built extension, real anvil, and the test dapp served from 127.0.0.1.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serveStatic } from './esm-server.mjs';
import { assertNoLeaks, startGuard } from './guard.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const EXTENSION_ID = 'miloadehhgmocpaheiemghejpghjcdhd'; // from the manifest "key"
export const RDNS = 'app.tandem.wallet';
// Foundry's default test mnemonic (anvil funds m/44'/60'/0'/0/0..9 with 10000 ETH).
export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk';
export const ANVIL_ACCOUNT_0 = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
export const ANVIL_ACCOUNT_1 = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
export const PASSWORD = 'correct horse battery staple 42';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value, at most `timeoutMs`. */
export async function until(fn, what, timeoutMs = 10_000, everyMs = 50) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last?.message ?? JSON.stringify(last)})`);
}

export async function jsonRpc(url, method, params = []) {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const j = await r.json();
  if (j.error) throw new Error(`${method}: ${j.error.message}`);
  return j.result;
}

/** Kills `proc` when this test process exits, however it exits (a failed
 *  `before` that never handed it to an `after`, a forced exit): nothing a
 *  test file started outlives it. */
export function stopOnExit(proc) {
  const kill = () => proc.kill('SIGKILL');
  process.once('exit', kill);
  proc.once('exit', () => process.off('exit', kill));
}

/** The anvil executable of the locked npm package for this platform
 *  (`@foundry-rs/anvil-<os>-<arch>`), started directly: its npm entry
 *  (`node_modules/.bin/anvil`) is a Node wrapper that forwards SIGTERM,
 *  so SIGKILL, the fallback of `stop()`, would orphan the real anvil with
 *  this process's stderr, and `node --test` waits for that pipe to close. */
function anvilBinary() {
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch] ?? process.arch;
  const direct = path.join(ROOT, `node_modules/@foundry-rs/anvil-${process.platform}-${arch}/bin/anvil`);
  return existsSync(direct) ? direct : path.join(ROOT, 'node_modules/.bin/anvil');
}

/** Starts anvil on a port the system gives it (`--port 0`: no window in which
 *  another process could take a port picked beforehand); resolves with the
 *  port anvil prints once it listens and answers. */
export async function startAnvil({ chainId, hardfork } = {}) {
  const bin = anvilBinary();
  const args = ['--host', '127.0.0.1', '--port', '0'];
  if (chainId) args.push('--chain-id', String(chainId));
  // e.g. 'berlin': a chain before EIP-1559 (no base fee, type-0 transactions).
  if (hardfork) args.push('--hardfork', hardfork);
  // stderr piped, not inherited: an anvil outliving this process must not
  // hold the test runner's pipe open (it waits for the pipe to close).
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let exited = false;
  proc.once('exit', () => (exited = true));
  stopOnExit(proc);
  let errors = '';
  proc.stderr.on('data', (d) => (errors = (errors + d).slice(-2000)));
  let out = '';
  let port = null;
  proc.stdout.on('data', (chunk) => {
    if (port) return; // the banner is read once; later output is dropped
    out += chunk;
    const m = /Listening on 127\.0\.0\.1:(\d+)/.exec(out);
    if (m) port = Number(m[1]);
  });
  await until(() => {
    if (exited) throw new Error(`anvil exited: ${out.slice(-400)} ${errors.slice(-400)}`);
    return port;
  }, 'anvil to print its port', 15_000, 50);
  const url = `http://127.0.0.1:${port}`;
  await until(async () => (await jsonRpc(url, 'eth_chainId')) !== undefined, 'anvil to answer', 15_000, 100);
  return {
    url,
    port,
    stop: async () => {
      if (exited) return;
      proc.kill('SIGTERM');
      await until(() => exited, 'anvil to exit', 5_000).catch(() => proc.kill('SIGKILL'));
    },
  };
}

/** Serves the test dapp (and node_modules for its imports). */
export function startDapp() {
  return serveStatic(path.join(ROOT, 'tests/e2e/dapp'), ROOT);
}

/** Launches headless Chromium with the repo folder loaded as an unpacked extension. */
/** Flags for every headless Chromium of the tests: no sandbox, GPU, QUIC or
 * background traffic (no test touches the public internet). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** How long `browser.ui` waits for the worker's answer (the slowest call,
 *  turning sync on for 10,000 records, takes about 0.4 s). */
const UI_ANSWER_MS = 60_000;

// TANDEM_E2E_EXTENSION: a folder with another build of the extension (its
// manifest.json, _locales/ and extension/), e.g. the last commit's, to show that a new
// test fails on it.
export async function launch({ extensionDir = process.env.TANDEM_E2E_EXTENSION ?? ROOT } = {}) {
  if (!existsSync(path.join(extensionDir, 'extension/wasm/tandem_wasm_bg.wasm'))) {
    throw new Error('extension/wasm is missing: run scripts/build first');
  }
  const profile = await mkdtemp(path.join(os.tmpdir(), 'tandem-e2e-'));
  const guard = await startGuard();
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      `--disable-extensions-except=${extensionDir}`,
      `--load-extension=${extensionDir}`,
      ...CHROMIUM_ARGS,
      guard.arg,
      // By hand, e.g. to profile the worker over CDP: --remote-debugging-port=9339.
      ...(process.env.TANDEM_E2E_CHROMIUM_ARGS ?? '').split(' ').filter(Boolean),
    ],
  });
  const sw =
    context.serviceWorkers().find((w) => w.url().includes(EXTENSION_ID)) ??
    (await context.waitForEvent('serviceworker', { timeout: 15_000 }));
  const extId = sw.url().split('/')[2];
  if (extId !== EXTENSION_ID) throw new Error(`extension id ${extId}, expected ${EXTENSION_ID} (manifest key)`);
  // The worker's warnings and errors (the last 40, across restarts), for
  // a failure's message.
  const workerLog = [];
  const listen = (w) => {
    if (!w.url().includes(EXTENSION_ID)) return;
    w.on('console', (m) => {
      if (m.type() !== 'warning' && m.type() !== 'error') return;
      workerLog.push(`${m.type()}: ${m.text()}`);
      if (workerLog.length > 40) workerLog.shift();
    });
  };
  context.serviceWorkers().forEach(listen);
  context.on('serviceworker', listen);
  const ext = await context.newPage();
  await ext.goto(`chrome-extension://${extId}/extension/icons/icon-16.png`);
  /** What the browser had when an expected window did not come: its
   *  windows and tabs, the worker's window map and waiting approvals (for a
   *  failure's message, so a flake in CI says what it was). */
  const windowsReport = () =>
    ext.evaluate(async () => {
      const wins = await chrome.windows.getAll({ populate: true });
      const map = (await chrome.storage.session.get('tandem.windows'))['tandem.windows'] ?? {};
      const list = await chrome.runtime.sendMessage({ channel: 'tandem/ui', id: 1, method: 'approvals.list' });
      return JSON.stringify({
        windows: wins.map((w) => ({ id: w.id, type: w.type, tabs: (w.tabs ?? []).map((t) => `${t.status} ${t.url || t.pendingUrl}`) })),
        map,
        approvals: list?.ok ? list.result.map((a) => ({ id: a.id, origin: a.origin, kind: a.kind })) : list,
      });
    }).then((r) => `browser: ${r}; pages: ${JSON.stringify(context.pages().map((p) => p.url()))}; worker said: ${JSON.stringify(workerLog)}`);
  const browser = {
    context,
    extId,
    ext,
    /** The profile's folder (e.g. its DevToolsActivePort, lib/profile.mjs). */
    profile,
    /** The worker's last 40 warnings and errors (for a failure's message). */
    workerLog,
    /** What this browser tried to reach outside 127.0.0.1 (lib/guard.mjs). */
    guard,
    url: (p) => `chrome-extension://${extId}/${p}`,
    /** A `tandem/ui` call from an extension page; throws on { ok: false }. */
    async ui(method, params) {
      // Bounded: a worker that never answers fails the test here, naming
      // the call (an evaluate waits as long as its promise does).
      let timer;
      const r = await Promise.race([
        ext.evaluate(
          ([method, params]) => chrome.runtime.sendMessage({ channel: 'tandem/ui', id: 1, method, params }),
          [method, params],
        ),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`the worker did not answer ${method} within ${UI_ANSWER_MS} ms; it said: ${JSON.stringify(workerLog)}`)),
            UI_ANSWER_MS,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      if (!r || !r.ok) {
        const e = new Error(r?.error?.message ?? 'no answer');
        e.kind = r?.error?.kind;
        throw e;
      }
      return r.result;
    },
    /** Stops every service worker, as Chrome does after ~30 s idle, and
     *  returns once CDP reports this extension's worker stopped (the
     *  command itself may answer first: a test that writes storage "with
     *  the worker stopped" would race a worker still running). */
    async killWorker() {
      const cdp = await context.newCDPSession(ext);
      // Seen once is enough: something may start it again right after.
      let stopped = false;
      cdp.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
        if (versions.some((v) => v.scriptURL.includes(extId) && v.runningStatus === 'stopped')) stopped = true;
      });
      await cdp.send('ServiceWorker.enable');
      await cdp.send('ServiceWorker.stopAllWorkers');
      await until(() => stopped, 'CDP to report the worker stopped', 10_000, 20);
      await cdp.detach();
    },
    /** Waits for the approval window the worker opens. A window opened by
     *  chrome.windows.create can be announced before its URL is set
     *  (about:blank): a new page counts once its URL is the approval's. */
    nextApproval: () =>
      new Promise((resolve, reject) => {
        const onPage = async (p) => {
          if (!p.url().includes('approval.html')) {
            const ok = await p.waitForURL(/approval\.html/, { timeout: 15_000 }).then(() => true, () => false);
            if (!ok) return;
          }
          clearTimeout(timer);
          context.off('page', onPage);
          resolve(p);
        };
        const timer = setTimeout(async () => {
          context.off('page', onPage);
          reject(new Error(`no approval window opened within 15 s; ${await windowsReport().catch((e) => `no report: ${e.message}`)}`));
        }, 15_000);
        context.on('page', onPage);
      }),
    /** Closes the browser; fails the test file when it tried to reach anything outside
     *  127.0.0.1 but a built-in network's RPC (lib/guard.mjs). */
    async close() {
      await context.close().catch(() => {});
      await Promise.all([rm(profile, { recursive: true, force: true }), guard.close()]);
      assertNoLeaks(guard, 'the extension');
    },
  };
  // A new wallet's built-in networks (asked before any test changes them).
  guard.allow((await browser.ui('state')).networks.map((n) => n.rpcUrl));
  return browser;
}

/** Opens the popup page at its real size; `page.errors` collects page errors. */
export async function openPopup(browser, width = 360) {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width, height: 600 });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(browser.url('extension/popup.html'));
  page.errors = errors;
  return page;
}

/**
 * Clicks a button that closes its own window (the answer to an approval
 * window's last request). The window may close before Playwright's click
 * returns, which then throws "Target page ... has been closed": that is the
 * click having worked, so it is not an error. Any other failure, or a window
 * still open, is; the caller checks what the click did (the answer arrived).
 */
export async function clickClosing(locator, options) {
  try {
    await locator.click(options);
  } catch (e) {
    if (!locator.page().isClosed()) throw e;
  }
}

/**
 * Clicks `tid` and waits for the window to show screen `name`. When it does
 * not, the error says which screen it shows instead and what it reads: a
 * flake under load then names its cause (e.g. a fresh state that routed away
 * from a screen opened on the cached one).
 */
export async function clickTo(page, tid, name, timeout = 20_000) {
  await page.getByTestId(tid).click({ timeout });
  const app = page.locator('#app > .app');
  try {
    await page.locator(`#app > .app[data-screen="${name}"]`).waitFor({ timeout });
  } catch (e) {
    const shown = await app.getAttribute('data-screen', { timeout: 1_000 }).catch(() => '?');
    const text = (await app.innerText({ timeout: 1_000 }).catch(() => '')).slice(0, 600);
    throw new Error(`after a click on ${tid}: the window shows screen "${shown}", not "${name}": ${JSON.stringify(text)}`, {
      cause: e,
    });
  }
}

/** Opens the dapp in a new tab and selects Tandem by its EIP-6963 rdns. */
export async function openDapp(browser, dappUrl) {
  const page = await browser.context.newPage();
  await page.goto(`${dappUrl}/index.html`);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, {
    timeout: 30_000,
  });
  const info = await page.evaluate((rdns) => window.dapp.use(rdns), RDNS);
  return { page, info };
}

/** Waits for the pending approval list to hold one of `kind`; returns it. */
export async function pendingApproval(browser, kind) {
  return until(async () => {
    const list = await browser.ui('approvals.list');
    return list.find((a) => a.kind === kind && !a.needsFill);
  }, `a pending ${kind} approval`);
}

/** Evaluates `expression` in Tandem's content-script world of `page`. */
export async function inContentScript(browser, page, expression) {
  const cdp = await browser.context.newCDPSession(page);
  const contexts = [];
  cdp.on('Runtime.executionContextCreated', ({ context }) => contexts.push(context));
  await cdp.send('Runtime.enable'); // reports the contexts that exist
  const world = contexts.find(
    (c) => c.auxData?.type === 'isolated' && c.origin === `chrome-extension://${EXTENSION_ID}`,
  );
  if (!world) throw new Error(`no Tandem content-script world on the page (${JSON.stringify(contexts.map((c) => c.name))})`);
  const { result, exceptionDetails } = await cdp.send('Runtime.evaluate', {
    expression,
    contextId: world.id,
    awaitPromise: true,
    returnByValue: true,
  });
  await cdp.detach();
  if (exceptionDetails) return { threw: exceptionDetails.exception?.description ?? exceptionDetails.text };
  return { value: result.value };
}

/**
 * Follows the extension's service worker through CDP (restart tests):
 * `seen` counts the times CDP reported it `stopped` and `running`;
 * `kill()` stops it, as Chrome does when idle, and waits until CDP reports
 * it stopped; `detach()` ends the session.
 */
export async function watchWorker(browser) {
  const seen = { stopped: 0, running: 0 };
  const cdp = await browser.context.newCDPSession(browser.ext);
  cdp.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
    const v = versions.find((x) => x.scriptURL.includes(browser.extId));
    if (v && v.runningStatus in seen) seen[v.runningStatus] += 1;
  });
  await cdp.send('ServiceWorker.enable');
  return {
    seen,
    async kill() {
      const stops = seen.stopped;
      await browser.killWorker();
      await until(() => seen.stopped > stops, 'CDP to report the worker stopped');
    },
    detach: () => cdp.detach().catch(() => {}),
  };
}
