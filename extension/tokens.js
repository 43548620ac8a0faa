// What an ERC-20 contract says of itself, for the pages (`token.info`), and
// the gas price Send's Max keeps a fee for (`send.gasPrice`). The extra
// module names the calls (crates/wallet/src/token.rs), decodes the answers
// and says which to keep; this file only sends them and keeps answers for
// the worker's lifetime.

const MAX_CACHED = 256;
/** key (the module's) -> decoded answer (complete answers only). */
const cache = new Map();

function refused(error) {
  const e = new Error(error.message);
  e.name = error.name;
  return e;
}

/**
 * `{ chainId, address }` -> `{ chainId, address, symbol, decimals }`, decoded
 * (null where a call failed or answered something unreadable). `x` is the
 * extra module, `state` the core's `stateJson()`, `viaBatch(x, plan)` sends
 * a planned batch.
 */
export async function tokenInfo(p, x, state, viaBatch) {
  const address = typeof p?.address === 'string' ? p.address : '';
  const plan = JSON.parse(x.tokenPlan(state, Number(p?.chainId) || 0, address));
  if (plan.error) throw refused(plan.error);
  if (cache.has(plan.key)) return cache.get(plan.key);
  const { info, keep } = JSON.parse(x.tokenRead(plan.chainId, plan.address, JSON.stringify(await viaBatch(x, plan))));
  if (keep) {
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value);
    cache.set(plan.key, info);
  }
  return info;
}

/** `{ chainId }` -> the chain's gas price (`0x` quantity, checked by the module). */
export async function gasPrice(p, x, state, viaBatch, RpcError) {
  const plan = JSON.parse(x.gasPricePlan(state, Number(p?.chainId) || 0));
  if (plan.error) throw refused(plan.error);
  const out = JSON.parse(x.gasPriceRead(JSON.stringify(await viaBatch(x, plan))));
  if (out.error) throw new RpcError(out.error.code, out.error.message, out.error.data);
  return out.gasPrice;
}
