// Measures the UI library comparison that scripts/bench-ui-libs built:
// module sizes (raw and gzip -9 as node's zlib writes it), then first render
// and re-render in headless Chromium, every library in every run, in turn
// (the order rotates per run), each page load in a fresh browser context (no
// HTTP or compiled-code cache carried over). Prints min/median/max and each
// library's median as a ratio to the hand-written vdom's in the same run.
// Serves the files from 127.0.0.1 only.
import { createServer } from 'node:http';
import { readFile, readdir, stat } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../../tests/e2e/lib/index.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const DIR = opt('dir');
const LIBS = opt('libs', 'vdom leptos dioxus sycamore').split(/\s+/).filter(Boolean);
const LEVEL = opt('opt', 'z');
const RUNS = Number(process.env.UI_LIBS_RUNS ?? 9);
const ROWS = (process.env.UI_LIBS_ROWS ?? '100 1000').split(/\s+/).filter(Boolean).map(Number);
if (!DIR) throw new Error('usage: bench.mjs --dir OUT [--libs "vdom leptos ..."] [--opt z|3] [--sizes-only]');
if (!(RUNS >= 1)) throw new Error(`UI_LIBS_RUNS must be a positive number: ${process.env.UI_LIBS_RUNS}`);

const gz = (buf) => gzipSync(buf, { level: 9 }).length;
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

async function files(dir) {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(p)));
    else out.push(p);
  }
  return out;
}

// ---- sizes ----
const sizes = {};
for (const lib of LIBS) {
  const wasm = await readFile(path.join(DIR, lib, `bench_${lib}_bg.wasm`));
  let jsRaw = 0;
  let jsGz = 0;
  for (const f of await files(path.join(DIR, lib))) {
    if (!f.endsWith('.js')) continue;
    const b = await readFile(f);
    jsRaw += b.length;
    jsGz += gz(b);
  }
  sizes[lib] = { wasmRaw: wasm.length, wasmGz: gz(wasm), jsRaw, jsGz };
}
console.log(`\nModule sizes (opt-level ${LEVEL}, wasm-opt -Oz; gzip -9, node zlib; bytes)\n`);
console.log('| library | wasm raw | wasm gzip | JS glue raw | JS glue gzip | total gzip | gzip vs vdom |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
const base = sizes.vdom ? sizes.vdom.wasmGz + sizes.vdom.jsGz : null;
for (const lib of LIBS) {
  const s = sizes[lib];
  const tot = s.wasmGz + s.jsGz;
  console.log(`| ${lib} | ${s.wasmRaw} | ${s.wasmGz} | ${s.jsRaw} | ${s.jsGz} | ${tot} | ${base ? `+${tot - base} (${(tot / base).toFixed(1)}x)` : ''} |`);
}
if (args.includes('--sizes-only')) process.exit(0);

// ---- timings ----
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
const server = createServer(async (req, res) => {
  const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '');
  const file = path.resolve(DIR, rel);
  if (!file.startsWith(path.resolve(DIR) + path.sep)) return res.writeHead(403).end();
  try {
    if (!(await stat(file)).isFile()) throw new Error('not a file');
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(await readFile(file));
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: CHROMIUM_ARGS,
});

const loadBefore = load();
console.log(`\nload average (1, 5, 15 min) before timing: ${loadBefore}; ${os.cpus().length} cores; ${RUNS} runs per library and row count`);
const results = []; // { lib, n, run, ...times }
const shapes = {};
try {
  for (let run = 0; run < RUNS; run++) {
    for (const n of ROWS) {
      const order = LIBS.map((_, i) => LIBS[(i + run) % LIBS.length]);
      for (const lib of order) {
        const context = await browser.newContext();
        const page = await context.newPage();
        const errors = [];
        page.on('pageerror', (e) => errors.push(String(e)));
        await page.goto(`${origin}/index.html?lib=${lib}&n=${n}`);
        await page.waitForFunction(() => window.__result, null, { timeout: 60_000 }).catch(async (e) => {
          const html = await page.evaluate(() => document.getElementById('app').innerHTML).catch(() => '?');
          throw new Error(`${lib} n=${n}: the screen never reached the expected DOM (${e.message}); errors: ${errors.join('; ')}; #app: ${html.slice(0, 800)}`);
        });
        const r = await page.evaluate(() => window.__result);
        await context.close();
        if (r.error || errors.length) throw new Error(`${lib} n=${n}: ${r.error ?? ''} ${errors.join('; ')}`);
        // The comparison is fair only if every library shows the same DOM.
        for (const k of ['firstShape', 'updatedShape']) {
          const key = `${n}/${k}`;
          shapes[key] ??= { lib, shape: r[k] };
          if (shapes[key].shape !== r[k]) {
            throw new Error(`${lib} n=${n}: ${k} differs from ${shapes[key].lib}'s:\n${r[k].slice(0, 600)}\nvs\n${shapes[key].shape.slice(0, 600)}`);
          }
        }
        delete r.firstShape;
        delete r.updatedShape;
        results.push({ ...r, run });
      }
    }
    process.stderr.write(`run ${run + 1}/${RUNS} done (load ${load()})\n`);
  }
} finally {
  await browser.close();
  server.close();
}
const loadAfter = load();

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const METRICS = [
  ['import', 'fetch + compile + instantiate of the module'],
  ['render', 'first render: start(n) -> the list in the DOM'],
  ['firstRender', 'first render: navigation start -> the list in the DOM'],
  ['firstRenderLayout', 'first render: navigation start -> the list laid out'],
  ['rerender', 're-render: click -> every balance updated and a row appended, in the DOM'],
  ['rerenderLayout', 're-render: click -> the same, laid out'],
];
const summary = {};
console.log('\nEach cell: median [min-max] ms, then the median as a ratio to the vdom median.');
for (const [m, title] of METRICS) console.log(`- ${m}: ${title}`);
for (const n of ROWS) {
  console.log(`\nN = ${n} rows (${RUNS} runs)\n`);
  console.log(`| library | ${METRICS.map(([m]) => m).join(' | ')} |`);
  console.log(`|---|${METRICS.map(() => '---:').join('|')}|`);
  for (const lib of LIBS) {
    const cells = METRICS.map(([m]) => {
      const xs = results.filter((r) => r.lib === lib && r.n === n).map((r) => r[m]);
      const med = median(xs);
      summary[`${lib}/${n}/${m}`] = { min: Math.min(...xs), median: med, max: Math.max(...xs) };
      const vs = results.filter((r) => r.lib === 'vdom' && r.n === n).map((r) => r[m]);
      const ratio = vs.length ? ` x${(med / median(vs)).toFixed(2)}` : '';
      return `${med.toFixed(1)} [${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)}]${ratio}`;
    });
    console.log(`| ${lib} | ${cells.join(' | ')} |`);
  }
}
console.log(`\nload average (1, 5, 15 min): before ${loadBefore}, after ${loadAfter}`);
const json = path.join(DIR, 'results.json');
writeFileSync(json, JSON.stringify({ opt: LEVEL, runs: RUNS, rows: ROWS, loadBefore, loadAfter, sizes, summary, results }, null, 1));
console.log(`raw numbers: ${json}`);
