// EIP-5792 call bundles (wallet_sendCalls), carried out one call at a time.
// What comes next and what each answer means are decided in Rust
// (crates/wallet/src/calls.rs, exported by the extra module
// crates/wasm-extra/src/calls.rs: `callsWork`, `callsStep`); this file does
// the I/O of each step and stores the bundles before the next one:
//
//   fill (nonce, gas, fees: one batch to the node) -> sign -> store -> send -> store
//   -> receipt -> store -> the next call (only after a success)
//
// A worker killed anywhere runs this again (boot, the alarm): a signed call
// is only sent again as the same bytes, so no call is sent twice.

/** Thrown by `rpc` when the network's RPC cannot be reached (background.js). */
const UNREACHABLE = 4901;

/**
 * @param {object} env what the worker provides
 * @param {() => Promise<any>} env.extra the extra module's exports (extra.js)
 * @param {() => any} env.wallet the WalletController (its stateJson)
 * @param {() => any[]} env.bundles this session's bundles, as the extra module made them
 * @param {(b: any[]) => void} env.setBundles
 * @param {() => any} env.keyring the open Keyring, or null when locked
 * @param {() => Promise<unknown>} env.persist stores the session (bundles included)
 * @param {(url: string, method: string, params: any[]) => Promise<any>} env.rpc
 * @param {(x: any, batch: {url: string, requests: string[]}) => Promise<object[]>} env.viaBatch sends a batch, its answers checked
 * @param {(address: string, tx: object, origin: string, signed: {raw: string, hash: string}) => Promise<string>} env.broadcast
 */
export function calls(env) {
  let running = null;
  let again = false;

  /** Runs the bundles under way until none has work; one run at a time (two
   *  could fill one call twice), and a run asked for meanwhile runs after. */
  function run() {
    if (env.bundles().length === 0) return Promise.resolve();
    again = true;
    running ??= (async () => {
      try {
        while (again) {
          again = false;
          await runAll(await env.extra());
        }
      } finally {
        running = null;
      }
    })();
    return running;
  }

  async function runAll(x) {
    // A receipt is looked for about a minute; the alarm starts a new run later.
    for (let round = 0; round < 70; round++) {
      const out = JSON.parse(x.callsWork(JSON.stringify(env.bundles()), env.wallet().stateJson(), env.keyring() !== null));
      if (out.changed) {
        env.setBundles(out.bundles);
        await env.persist();
      }
      if (out.work.length === 0) return;
      let moved = false;
      for (const w of out.work) moved = (await step(x, w)) || moved;
      if (!moved) await new Promise((r) => setTimeout(r, round < 10 ? 300 : 1000));
    }
  }

  function record(x, w, s) {
    const step = JSON.stringify({ origin: w.origin, id: w.id, index: w.index, step: s });
    const out = JSON.parse(x.callsStep(JSON.stringify(env.bundles()), step));
    env.setBundles(out.bundles);
    return out.answer;
  }

  /** One step of one bundle; resolves to whether it moved. */
  async function step(x, w) {
    try {
      if (w.type === 'receipt') {
        const receipt = await env.rpc(w.url, 'eth_getTransactionReceipt', [w.hash]).catch(() => null);
        if (!receipt) return false;
        record(x, w, { receipt });
      } else if (w.type === 'send') {
        await env.broadcast(w.from, w.transaction, w.origin, { raw: w.raw, hash: w.hash });
        record(x, w, { sent: true });
      } else {
        // The extra module named the calls (nonce, gas, fees) and reads the
        // answers: the transaction to sign, or null (the node refused it:
        // recorded, the bundle stops), or false (not reached: later).
        const tx = record(x, w, { answers: await env.viaBatch(x, w.batch) });
        if (tx === false) return false;
        if (tx === null) {
          await env.persist();
          return true;
        }
        const kr = env.keyring();
        if (!kr) throw new Error('Tandem locked before this call was signed; it was not sent');
        const signed = JSON.parse(kr.signTransaction(w.from, JSON.stringify(tx)));
        record(x, w, { signed: { raw: signed.raw, hash: signed.hash } });
      }
    } catch (e) {
      // An unreachable node: tried again later (a signed call may have
      // reached it). Anything else stops the bundle, the call unsent.
      if (e?.code === UNREACHABLE) return false;
      try {
        record(x, w, { error: String(e?.message ?? e) });
      } catch {
        return false;
      }
    }
    await env.persist();
    return true;
  }

  return { run };
}
