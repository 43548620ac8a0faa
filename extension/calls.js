// EIP-5792 call bundles (wallet_sendCalls), carried out one call at a time.
// What comes next and what each answer means are the core's
// (crates/wallet/src/calls.rs: `callsWork`, `callsStep`); this file does the
// I/O of each step and stores the session before the next one:
//
//   fill (nonce, gas, fees from the node) -> sign -> store -> send -> store
//   -> receipt -> store -> the next call (only after a success)
//
// A worker killed anywhere runs this again (boot, the alarm): a signed call
// is only sent again as the same bytes, so no call is sent twice.

/** Thrown by `rpc` when the network's RPC cannot be reached (background.js). */
const UNREACHABLE = 4901;

/**
 * @param {object} env what the worker provides
 * @param {() => any} env.wallet the WalletController
 * @param {() => any} env.keyring the open Keyring, or null when locked
 * @param {() => Promise<unknown>} env.persist stores the controller state
 * @param {(url: string, method: string, params: any[]) => Promise<any>} env.rpc
 * @param {(url: string, from: string, tx: object) => Promise<object>} env.nodeFill nonce, gas and fees
 * @param {(address: string, tx: object, origin: string, signed: {raw: string, hash: string}) => Promise<string>} env.broadcast
 */
export function calls(env) {
  let running = null;
  let again = false;

  /** Runs the bundles under way until none has work; one run at a time (two
   *  could fill one call twice), and a run asked for meanwhile runs after. */
  function run() {
    again = true;
    running ??= (async () => {
      try {
        while (again) {
          again = false;
          await runAll();
        }
      } finally {
        running = null;
      }
    })();
    return running;
  }

  async function runAll() {
    // A receipt is looked for about a minute; the alarm starts a new run later.
    for (let round = 0; round < 70; round++) {
      const { work, changed } = JSON.parse(env.wallet().callsWork(env.keyring() !== null));
      if (changed) await env.persist();
      if (work.length === 0) return;
      let moved = false;
      for (const w of work) moved = (await step(w)) || moved;
      if (!moved) await new Promise((r) => setTimeout(r, round < 10 ? 300 : 1000));
    }
  }

  const record = (w, s) =>
    JSON.parse(env.wallet().callsStep(JSON.stringify({ origin: w.origin, id: w.id, index: w.index, step: s })));

  /** One step of one bundle; resolves to whether it moved. */
  async function step(w) {
    try {
      if (w.type === 'receipt') {
        const receipt = await env.rpc(w.url, 'eth_getTransactionReceipt', [w.hash]).catch(() => null);
        if (!receipt) return false;
        record(w, { receipt });
      } else if (w.type === 'send') {
        await env.broadcast(w.from, w.transaction, w.origin, { raw: w.raw, hash: w.hash });
        record(w, { sent: true });
      } else {
        const tx = record(w, { filled: await env.nodeFill(w.url, w.from, w.transaction) });
        const kr = env.keyring();
        if (!kr) throw new Error('Tandem locked before this call was signed; it was not sent');
        const signed = JSON.parse(kr.signTransaction(w.from, JSON.stringify(tx)));
        record(w, { signed: { raw: signed.raw, hash: signed.hash } });
      }
    } catch (e) {
      // An unreachable node: tried again later (a signed call may have
      // reached it). Anything else stops the bundle, the call unsent.
      if (e?.code === UNREACHABLE) return false;
      try {
        record(w, { error: String(e?.message ?? e) });
      } catch {
        return false;
      }
    }
    await env.persist();
    return true;
  }

  return { run };
}
