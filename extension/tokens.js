// What an ERC-20 contract says of itself, for the pages (`token.info`): the
// raw answers of symbol() and decimals(), read with eth_call on the chain the
// page names. Decoding and formatting are Rust (crates/ui/src/token.rs); this
// file only calls the node and keeps answers for the worker's lifetime.

const SYMBOL = '0x95d89b41'; // symbol(): keccak256("symbol()")[..4]
const DECIMALS = '0x313ce567'; // decimals(): keccak256("decimals()")[..4]
const MAX_CACHED = 256;
/** `${chainId}:${address}` -> answer (complete answers only). */
const cache = new Map();

function invalid(message) {
  const e = new Error(message);
  e.name = 'InvalidInput';
  return e;
}

/**
 * `{ chainId, address }` -> `{ chainId, address, symbol, decimals }`, where
 * symbol and decimals are the eth_call results (hex) or null if the call failed.
 * `rpcUrlOf(chainId)` is the RPC of a network the wallet has.
 */
export async function tokenInfo(p, rpcUrlOf, rpc) {
  const chainId = Number(p?.chainId);
  const address = typeof p?.address === 'string' ? p.address.toLowerCase() : '';
  if (!Number.isSafeInteger(chainId) || chainId <= 0 || !/^0x[0-9a-f]{40}$/.test(address)) {
    throw invalid('token.info takes { chainId, address } with a 0x address of 40 hex digits');
  }
  const key = `${chainId}:${address}`;
  if (cache.has(key)) return cache.get(key);
  const url = await rpcUrlOf(chainId);
  const call = (data) => rpc(url, 'eth_call', [{ to: address, data }, 'latest']).catch(() => null);
  const [symbol, decimals] = await Promise.all([call(SYMBOL), call(DECIMALS)]);
  const out = { chainId, address, symbol, decimals };
  // Kept only when both answered at least one ABI word: an address without
  // code answers "0x", and may get code later.
  const full = (x) => typeof x === 'string' && x.length >= 66;
  if (full(symbol) && full(decimals)) {
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value);
    cache.set(key, out);
  }
  return out;
}
