// Answered approvals, carried out so that a worker killed at any point picks
// up where it stopped (MV3 restarts). The steps and what may follow what are
// the core's (crates/wallet/src/answered.rs, `answerStep`): the answer is
// recorded ({ id, then, audit }, `then` the resolution at its step, `audit`
// its activity-log entry) and stored in the same write as the session the
// approval left (background.js persist); this file does each step's I/O and
// stores before the next one:
//
//   send_transaction -> (sign) -> send_signed -> (send the same bytes) -> reply
//   sign_personal / sign_typed_data -> (sign) -> reply
//   reply / error -> (deliver to the document that asked, then write the
//                     audit entry) -> forgotten
//
// Every answer goes this way: the user's in the approval window, the
// phone's (confirm on phone), and the ones the worker reaches itself (a
// timeout, a request withdrawn because its window or tab closed or the
// wallet locked). A worker killed after the audit entry was written and
// before the record was forgotten writes that entry once more: a log entry
// twice, never one missing.
//
// After a restart the worker calls drive() again: a signed transaction is
// only ever sent again as the same bytes (the node that has it answers with
// its hash), a reply is delivered again to the same document (a page ignores
// an answer it already has; one that navigated away gets nothing).

/**
 * @param {object} env what the worker provides
 * @param {() => {id: number, then: any, audit?: object}[]} env.list the recorded answers (stored by persist)
 * @param {(list: {id: number, then: any, audit?: object}[]) => void} env.setList
 * @param {(json: string) => string} env.answerStep the core's transition ({ then, step } -> then)
 * @param {() => any} env.keyring the open Keyring, or null when locked
 * @param {() => Promise<unknown>} env.persist stores the controller state
 * @param {(replyTo: any, payload: object) => Promise<boolean>} env.deliver
 * @param {(address: string, tx: object, origin: string, signed: {raw: string, hash: string}) => Promise<string>} env.broadcast
 * @param {(e: unknown) => object} env.errorObject an EIP-1193 error object
 * @param {() => void} env.changed a reply changed what pages see
 * @param {(item: object) => Promise<unknown>} env.audit writes an answer's audit entry
 */
export function answers(env) {
  let chain = Promise.resolve();

  /** Carries every recorded answer to its page, one run at a time (two runs
   *  at once could both send one transaction). Resolves to a Map of the
   *  answers whose step failed (their page got the error) to the error. */
  function drive() {
    const run = chain.then(driveAll);
    chain = run.catch(() => {});
    return run;
  }

  async function driveAll() {
    const failed = new Map();
    for (const a of env.list()) {
      try {
        await carry(a.id);
      } catch (e) {
        failed.set(a.id, e);
      }
    }
    return failed;
  }

  const current = (id) => env.list().find((a) => a.id === id)?.then;
  function step(id, s) {
    if (s.delivered) return env.setList(env.list().filter((a) => a.id !== id));
    const a = env.list().find((x) => x.id === id);
    a.then = JSON.parse(env.answerStep(JSON.stringify({ then: a.then, step: s })));
  }

  async function carry(id) {
    let failure = null;
    for (let r = current(id); r; r = current(id)) {
      if (r.type === 'reply' || r.type === 'error') {
        await env.deliver(r.reply_to, r.type === 'reply' ? { result: r.result } : { error: r.error });
        if (r.changed) env.changed();
        // Once the page has its answer (never in between: see background.js
        // handleStatus), and before the record that holds it is forgotten.
        const item = env.list().find((a) => a.id === id)?.audit;
        if (item) await env.audit(item);
        step(id, { delivered: true });
        await env.persist();
        break;
      }
      try {
        const kr = env.keyring();
        if (r.type === 'send_signed') {
          const hash = await env.broadcast(r.address, r.transaction, r.origin, { raw: r.raw, hash: r.hash });
          step(id, { result: hash });
        } else if (!kr) {
          throw Object.assign(new Error('Tandem locked before this request was signed; ask again'), { code: 4100 });
        } else if (r.type === 'send_transaction') {
          const s = JSON.parse(kr.signTransaction(r.address, JSON.stringify(r.transaction)));
          step(id, { signed: { raw: s.raw, hash: s.hash } });
        } else if (r.type === 'sign_personal') {
          step(id, { result: kr.signPersonal(r.address, r.message) });
        } else if (r.type === 'sign_typed_data') {
          step(id, { result: kr.signTypedData(r.address, r.typed_data) });
        } else {
          throw new Error(`unknown answer step ${r.type}`);
        }
      } catch (e) {
        failure = e;
        step(id, { error: env.errorObject(e) });
      }
      await env.persist();
    }
    if (failure) throw failure;
  }

  return { drive };
}
