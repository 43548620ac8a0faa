// The network guard of every test browser: Chromium sends every request for a
// host that is not loopback to this proxy on 127.0.0.1 (Chromium never proxies
// loopback), which refuses it at once and records the host. So no test can
// reach the public internet, none waits on a DNS lookup or a timeout, and
// closing a browser fails the test when anything but a built-in network's RPC
// was tried (a leak: a tracker, a font, a user-added network that should have
// been local). The built-in networks' hosts are allowed because a new wallet
// starts on Ethereum mainnet and asks its RPC for the balance; in a test that
// request is refused here and the popup shows its "could not reach" state.
import { createServer } from 'node:http';

function hostOf(url) {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** Chromium's own services, which it calls even with every background flag
 *  off (component updater, Google sign-in, autofill): the browser's traffic, not
 *  Tandem's, and refused here like everything else. */
const CHROMIUM_OWN = [
  'update.googleapis.com',
  'accounts.google.com',
  'clients2.google.com',
  'content-autofill.googleapis.com', // password-field autofill hints
  'start.duckduckgo.com', // Debian's Chromium: its default search engine, on a new tab
];

export async function startGuard() {
  /** @type {{ host: string, how: string, url?: string }[]} */
  const attempts = [];
  const allowed = new Set();
  const server = createServer((req, res) => {
    // A plain http:// request through the proxy carries an absolute URL.
    attempts.push({ host: hostOf(req.url), how: req.method, url: req.url });
    res.writeHead(403, { 'content-type': 'text/plain' });
    res.end('tandem test guard: no test touches the public internet');
  });
  server.on('connect', (req, socket) => {
    // https:// (and wss://) ask for a tunnel: "CONNECT host:443".
    attempts.push({ host: req.url, how: 'CONNECT' });
    // The socket is ours from here: Chromium may reset it (it can send its
    // TLS hello before reading the refusal, or close the browser), and an
    // unhandled 'error' would fail whichever test file is running then.
    socket.on('error', () => socket.destroy());
    socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const guard = {
    /** The Chromium flag that sends everything non-local here. */
    arg: `--proxy-server=http://127.0.0.1:${port}`,
    attempts,
    /** Hosts (host:port as the proxy sees them) a browser may try. */
    allow(urls) {
      for (const u of urls) {
        const h = hostOf(u);
        allowed.add(h);
        // CONNECT names the port explicitly.
        if (!/:\d+$/.test(h)) allowed.add(`${h}:${u.startsWith('http:') ? 80 : 443}`);
      }
    },
    /** The attempts that are not allowed. */
    leaks: () => attempts.filter((a) => !allowed.has(a.host)),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  guard.allow(CHROMIUM_OWN.flatMap((h) => [`https://${h}`, `http://${h}`]));
  return guard;
}

/** When `guard` saw a leak: says so and makes the test file's process exit
 *  with 1, which fails the file (no throw here: the caller's other clean-ups,
 *  which stop anvil and the relay, must still run). */
export function assertNoLeaks(guard, who) {
  const leaks = guard.leaks();
  if (leaks.length) {
    const list = [...new Set(leaks.map((l) => `${l.how} ${l.host}`))].join(', ');
    console.error(`FAIL: ${who} tried to reach the network outside 127.0.0.1: ${list}`);
    process.exitCode = 1;
  }
}
