// A JSON-RPC node that lies: a Node http server on 127.0.0.1 (port 0, no
// race) that forwards every request to a real node (anvil) and rewrites the
// answers a test chooses. What it was asked is kept, for barriers.
import http from 'node:http';

/** Starts the proxy in front of `upstream` (a node's URL). */
export async function startLyingRpc(upstream) {
  /** method -> (request, answer) => answer */
  const rules = new Map();
  /** Every request, in order. */
  const asked = [];
  /** The next request to hold ({ method, forward, arrived }), if any. */
  let hold = null;
  const server = http.createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    let request = null;
    try {
      request = JSON.parse(body);
    } catch {}
    asked.push(request);
    const held = hold && request?.method === hold.method ? hold : null;
    if (held) hold = null;
    if (held && !held.forward) return held.arrived(request); // never answered
    try {
      const up = await fetch(upstream, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      let answer = await up.json();
      if (held) return held.arrived(request); // the node has it; the asker never hears
      const rule = rules.get(request?.method);
      if (rule) answer = await rule(request, answer);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    } catch (e) {
      res.writeHead(502);
      res.end(String(e?.message ?? e));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    /** From now on, answers to `method` go through `rewrite(request, answer)`. */
    lie(method, rewrite) {
      rules.set(method, rewrite);
    },
    /** Answers to `method` (or all) are the node's own again. */
    honest(method) {
      if (method) rules.delete(method);
      else rules.clear();
    },
    /**
     * The next request for `method` is held: not forwarded at all (`forward:
     * false`: the node never sees it), or forwarded and its answer kept back
     * (`forward: true`: the node has it, the asker never hears). Resolves
     * when it arrived (forwarded: when the node answered), a barrier.
     */
    hold(method, { forward }) {
      return new Promise((arrived) => (hold = { method, forward, arrived }));
    },
    /** The requests for `method` so far. */
    asked: (method) => asked.filter((r) => r?.method === method),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
