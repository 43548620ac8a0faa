// A minimal ERC-20 with real storage, hand-assembled EVM bytecode, installed
// on anvil with anvil_setCode (no compiler dependency: solc from npm would be
// a 9 MB package for 150 bytes of code; the listing below is the source).
//
// Storage: balance of an address at slot = the address itself.
// Calls: decimals(), symbol(), balanceOf(address), transfer(address,uint256)
// (reverts when the balance is short; logs Transfer). Anything else reverts.
//
//   selector = calldataload(0) >> 224
//   dispatch:  DUP1 PUSH4 sel EQ PUSH1 label JUMPI   (x4), then REVERT(0,0)
//   decimals:  mstore(0, DECIMALS) return(0, 32)
//   symbol:    mstore(0, 32) mstore(32, len) mstore(64, bytes) return(0, 96)
//   balanceOf: mstore(0, sload(calldataload(4))) return(0, 32)
//   transfer:  amt = calldataload(36); bal = sload(caller)
//              if bal < amt: revert
//              sstore(caller, bal - amt)
//              to = calldataload(4); sstore(to, sload(to) + amt)
//              mstore(0, amt) log3(0, 32, Transfer, caller, to)
//              mstore(0, 1) return(0, 32)
import { jsonRpc } from './index.mjs';

// keccak256("Transfer(address,address,uint256)") (ERC-20, eips.ethereum.org/EIPS/eip-20).
const TRANSFER_TOPIC = 'ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';

/** Assembles items: hex strings, `{ label }` (a JUMPDEST here), `{ ref }` (PUSH1 its offset). */
function assemble(items) {
  const at = {};
  let pc = 0;
  for (const it of items) {
    if (typeof it === 'string') pc += it.length / 2;
    else if (it.label) (at[it.label] = pc), (pc += 1);
    else pc += 2;
  }
  if (pc > 255) throw new Error('the token outgrew PUSH1 jump targets');
  const hx = (n) => n.toString(16).padStart(2, '0');
  return '0x' + items.map((it) => (typeof it === 'string' ? it : it.label ? '5b' : '60' + hx(at[it.ref]))).join('');
}

export function erc20Code({ symbol, decimals }) {
  const sym = Buffer.from(symbol, 'utf8');
  if (sym.length > 32) throw new Error('symbol longer than 32 bytes');
  const word = (h) => h.padStart(64, '0');
  const dispatch = (sel, label) => ['80', '63' + sel, '14', { ref: label }, '57'];
  return assemble([
    '6000', '35', '60e0', '1c', // selector
    ...dispatch('313ce567', 'decimals'),
    ...dispatch('95d89b41', 'symbol'),
    ...dispatch('70a08231', 'balanceOf'),
    ...dispatch('a9059cbb', 'transfer'),
    '6000', '80', 'fd', // revert(0, 0)
    { label: 'decimals' }, '60' + decimals.toString(16).padStart(2, '0'), '6000', '52', '6020', '6000', 'f3',
    { label: 'symbol' }, '6020', '6000', '52', '60' + sym.length.toString(16).padStart(2, '0'), '6020', '52',
    '7f' + sym.toString('hex').padEnd(64, '0'), '6040', '52', '6060', '6000', 'f3',
    { label: 'balanceOf' }, '6004', '35', '54', '6000', '52', '6020', '6000', 'f3',
    { label: 'transfer' },
    '6024', '35', // amt
    '33', '54', // bal = sload(caller)
    '81', '81', '10', { ref: 'fail' }, '57', // bal < amt -> fail
    '81', '90', '03', '33', '55', // sstore(caller, bal - amt)
    '6004', '35', '80', '54', '82', '01', '90', '55', // sstore(to, sload(to) + amt)
    '6000', '52', // mstore(0, amt)
    '6004', '35', '33', '7f' + word(TRANSFER_TOPIC), '6020', '6000', 'a3', // log3
    '6001', '6000', '52', '6020', '6000', 'f3', // return true
    { label: 'fail' }, '6000', '80', 'fd',
  ]);
}

/** Installs the token at `address` on anvil and credits `holder` with `balance` base units. */
export async function deployErc20(url, address, { symbol, decimals, holder, balance }) {
  await jsonRpc(url, 'anvil_setCode', [address, erc20Code({ symbol, decimals })]);
  const slot = '0x' + holder.toLowerCase().slice(2).padStart(64, '0');
  await jsonRpc(url, 'anvil_setStorageAt', [address, slot, '0x' + BigInt(balance).toString(16).padStart(64, '0')]);
}

/** balanceOf(owner) as a bigint. */
export async function balanceOf(url, token, owner) {
  const data = '0x70a08231' + owner.toLowerCase().slice(2).padStart(64, '0');
  return BigInt(await jsonRpc(url, 'eth_call', [{ to: token, data }, 'latest']));
}
