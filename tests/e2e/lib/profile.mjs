// A CPU profile of the extension's service worker, for benchmarks that ask
// where the time goes (never for assertions). The browser must have been
// launched with TANDEM_E2E_CHROMIUM_ARGS=--remote-debugging-port=0: the
// port Chromium chose is in the profile's DevToolsActivePort, and the
// worker's own DevTools endpoint is listed at /json/list.
import { readFile } from 'node:fs/promises';
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
  ws.on('message', (m) => {
    const r = JSON.parse(m);
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
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: intervalUs });
  await send('Profiler.start');
  return {
    async stop() {
      const { profile } = await send('Profiler.stop');
      ws.close();
      return summarize(profile);
    },
  };
}

/** Self time per function (ms), largest first, and the total and idle. */
export function summarize(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const n = byId.get(profile.samples[i]);
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${path.basename(f.url || '')}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
  }
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]);
  return { totalMs: total, top };
}
