// A CPU profile of the extension's service worker, for benchmarks that ask
// where the time goes (never for assertions). The browser must have been
// launched with TANDEM_E2E_CHROMIUM_ARGS=--remote-debugging-port=0: the
// port Chromium chose is in the profile's DevToolsActivePort, and the
// worker's own DevTools endpoint is listed at /json/list.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import WebSocket from 'ws';

/** Starts sampling the worker; `stop()` returns the profile's summary. */
export async function profileWorker(browser, { intervalUs = 200 } = {}) {
  const [port] = (await readFile(path.join(browser.profile, 'DevToolsActivePort'), 'utf8')).split('\n');
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const t = targets.find((x) => x.type === 'service_worker' && x.url.includes(browser.extId));
  if (!t) throw new Error(`no worker among ${JSON.stringify(targets.map((x) => [x.type, x.url]))}`);
  const ws = new WebSocket(t.webSocketDebuggerUrl);
  await new Promise((ok, fail) => ws.once('open', ok).once('error', fail));
  let id = 0;
  const waiting = new Map();
  // PROFILE_FRAMES=1: the worker's WebSocket frames too (when, which way,
  // what kind), to read the CPU profile against the relay's answers.
  const frames = [];
  ws.on('message', (m) => {
    const r = JSON.parse(m);
    if (r.method === 'Network.webSocketFrameSent' || r.method === 'Network.webSocketFrameReceived') {
      const text = r.params.response.payloadData ?? '';
      const kind = /"(?:type|t)"\s*:\s*"(\w+)"/.exec(text)?.[1] ?? text.slice(0, 30);
      frames.push({ t: r.params.timestamp, dir: r.method.endsWith('Sent') ? '>' : '<', kind, len: text.length });
    }
    if (r.id && waiting.has(r.id)) {
      waiting.get(r.id)(r);
      waiting.delete(r.id);
    }
  });
  const send = (method, params = {}) =>
    new Promise((ok, fail) => {
      id += 1;
      waiting.set(id, (r) => (r.error ? fail(new Error(`${method}: ${r.error.message}`)) : ok(r.result)));
      ws.send(JSON.stringify({ id, method, params }));
    });
  if (process.env.PROFILE_FRAMES) await send('Network.enable');
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: intervalUs });
  await send('Profiler.start');
  return {
    async stop() {
      const { profile } = await send('Profiler.stop');
      ws.close();
      if (frames.length) {
        const t0 = frames[0].t;
        let line = [];
        let last = null;
        const out = () => last && line.push(`${last.dir}${last.kind}${last.n > 1 ? `x${last.n}` : ''}@${((last.t - t0) * 1000).toFixed(0)}`);
        for (const f of frames) {
          if (last && last.dir === f.dir && last.kind === f.kind) { last.n += 1; continue; }
          out();
          last = { ...f, n: 1 };
        }
        out();
        console.error(`frames (kind x count @ms of the first): ${line.join(' ')}`);
      }
      // PROFILE_OUT=file.cpuprofile keeps the whole profile (DevTools opens it).
      if (process.env.PROFILE_OUT) await writeFile(process.env.PROFILE_OUT, JSON.stringify(profile));
      return summarize(profile);
    },
  };
}

// A function's name without the crate hashes rustc puts in wasm symbols.
const nameOf = (f) =>
  `${(f.functionName || '(anonymous)').replace(/\[[0-9a-f]{16}\]/g, '')} ${path.basename(f.url || '')}`.trim();

/** Self time per function (ms), largest first; `inclusive`: time with
 *  the functions it called (a recursive function counted once per
 *  sample); and the total and idle. */
export function summarize(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  const inclusive = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const n = byId.get(profile.samples[i]);
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const key = nameOf(n.callFrame);
    self.set(key, (self.get(key) ?? 0) + dt);
    const seen = new Set();
    for (let id = n.id; id !== undefined; id = parent.get(id)) {
      const k = nameOf(byId.get(id).callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
    }
  }
  const sorted = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return { totalMs: total, top: sorted(self), inclusive: sorted(inclusive) };
}
