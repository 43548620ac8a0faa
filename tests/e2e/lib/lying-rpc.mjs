// A JSON-RPC node that lies: a Node http server on 127.0.0.1 (port 0, no
// race) that forwards every request to a real node (anvil) and rewrites the
// answers a test chooses. What it was asked is kept, for barriers. A batch
// (a JSON array of requests) is forwarded as one; each of its answers goes
// through the rules of its own request's method.
import http from 'node:http';

/** What nodes that do not take batches answer one (e.g. some public RPCs). */
const BATCH_REFUSED = { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'batch requests are not supported' } };

/** Starts the proxy in front of `upstream` (a node's URL). */
export async function startLyingRpc(upstream) {
  /** method -> (request, answer) => answer */
  const rules = new Map();
  /** method -> the error object the node answers it with, unforwarded */
  const refusals = new Map();
  /** Every request, in order (a batch's requests one by one). */
  const asked = [];
  /** Every HTTP request's body as parsed (a batch is an array), in order. */
  const posts = [];
  /** The next request to hold ({ method, forward, arrived }), if any. */
  let hold = null;
  /** Held and not forwarded: answered by `release()`. */
  let parked = [];
  let refuseBatches = false;
  const rewrite = async (request, answer) => {
    const rule = rules.get(request?.method);
    return rule ? rule(request, answer) : answer;
  };
  async function serve(request, body, res) {
    try {
      if (Array.isArray(request) && refuseBatches) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(BATCH_REFUSED));
      }
      const up = await fetch(upstream, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      let answer = await up.json();
      if (Array.isArray(request) && Array.isArray(answer)) {
        answer = await Promise.all(answer.map((a) => rewrite(request.find((r) => r?.id === a?.id), a)));
      } else {
        answer = await rewrite(request, answer);
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    } catch (e) {
      res.writeHead(502);
      res.end(String(e?.message ?? e));
    }
  }
  /** Resolves once the node has a receipt for `hash` (at most 10 s). */
  async function mined(hash) {
    for (const end = Date.now() + 10_000; Date.now() < end; ) {
      const r = await fetch(upstream, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getTransactionReceipt', params: [hash] }),
      }).then((x) => x.json());
      if (r?.result) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  const server = http.createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    let request = null;
    try {
      request = JSON.parse(body);
    } catch {}
    posts.push(request);
    const list = Array.isArray(request) ? request : [request];
    asked.push(...list);
    // A refused method's request (alone, not in a batch) never reaches the node.
    const refusal = !Array.isArray(request) && refusals.get(request?.method);
    if (refusal) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ jsonrpc: '2.0', id: request.id ?? null, error: refusal }));
    }
    const held = hold && list.some((r) => r?.method === hold.method) ? hold : null;
    if (held) hold = null;
    if (held && !held.forward) {
      parked.push(() => serve(request, body, res));
      return held.arrived(request); // not answered until release()
    }
    if (held) {
      try {
        const up = await fetch(upstream, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        // A transaction the node took is mined before the barrier opens:
        // anvil answers eth_sendRawTransaction before its automine block is
        // in, and tests read the nonce right after.
        const hash = held.method === 'eth_sendRawTransaction' ? (await up.json())?.result : null;
        if (typeof hash === 'string') await mined(hash);
      } catch {}
      return held.arrived(request); // the node has it; the asker never hears
    }
    await serve(request, body, res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    /** From now on, answers to `method` go through `rewrite(request, answer)`. */
    lie(method, rewrite) {
      rules.set(method, rewrite);
    },
    /** From now on, `method` is answered with `error` and not forwarded
     *  (a node that refuses a transaction never has it). */
    refuse(method, error) {
      refusals.set(method, error);
    },
    /** Answers to `method` (or all) are the node's own again. */
    honest(method) {
      if (method) {
        rules.delete(method);
        refusals.delete(method);
      } else {
        rules.clear();
        refusals.clear();
      }
    },
    /**
     * The next request for `method` (or batch holding one) is held: not
     * forwarded (`forward: false`: the node never sees it, until
     * `release()`), or forwarded and its answer kept back (`forward: true`:
     * the node has it, the asker never hears). Resolves when it arrived
     * (forwarded: when the node answered; a transaction: once it is mined),
     * a barrier.
     */
    hold(method, { forward }) {
      return new Promise((arrived) => (hold = { method, forward, arrived }));
    },
    /** Forwards what `hold(…, { forward: false })` kept, and answers it. */
    release() {
      const now = parked;
      parked = [];
      return Promise.all(now.map((go) => go()));
    },
    /** While on, a batch gets the one error object of a node that refuses batches. */
    refuseBatches(on) {
      refuseBatches = on;
    },
    /** The requests for `method` so far (those in batches too). */
    asked: (method) => asked.filter((r) => r?.method === method),
    /** Every HTTP request's parsed body so far (a batch: an array). */
    posts: () => posts.slice(),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
