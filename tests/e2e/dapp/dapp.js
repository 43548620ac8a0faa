// A small real dapp: finds wallets by EIP-6963 and talks to the chosen one
// through viem, as production dapps do. The tests drive it through window.dapp.
import { createWalletClient, custom, defineChain } from 'viem';

const announced = [];
window.addEventListener('eip6963:announceProvider', (e) => announced.push(e.detail));
window.dispatchEvent(new Event('eip6963:requestProvider'));

const events = [];
let wallet = null;
let client = null;

function chainFor(id) {
  return defineChain({
    id,
    name: `chain ${id}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: ['http://127.0.0.1:1'] } },
  });
}

/** A viem answer as plain JSON (bigints as decimal strings). */
const plain = (v) => JSON.parse(JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? x.toString() : x)));

window.dapp = {
  announced: () => announced.map((d) => ({ ...d.info })),
  events: () => events.slice(),
  use(rdns) {
    const d = announced.find((x) => x.info.rdns === rdns);
    if (!d) throw new Error(`no wallet announced ${rdns}`);
    wallet = d.provider;
    for (const ev of ['connect', 'disconnect', 'accountsChanged', 'chainChanged']) {
      wallet.on(ev, (arg) => events.push({ ev, arg: ev === 'disconnect' ? { code: arg?.code } : arg }));
    }
    client = createWalletClient({ transport: custom(wallet) });
    return d.info;
  },
  // Raw EIP-1193, for malformed-input tests: resolves to { result } or { error }.
  async raw(args) {
    try {
      return { result: await wallet.request(args) };
    } catch (e) {
      return { error: { code: e.code, message: e.message } };
    }
  },
  async call(fn) {
    try {
      return { result: await fn() };
    } catch (e) {
      // viem wraps the provider error; its code is on the error or its cause.
      let c = e;
      while (c && c.code === undefined && c.cause) c = c.cause;
      return { error: { code: c?.code, message: e.shortMessage ?? e.message } };
    }
  },
  connect: () => window.dapp.call(() => client.requestAddresses()),
  addresses: () => window.dapp.call(() => client.getAddresses()),
  chainId: () => window.dapp.call(() => client.getChainId()),
  signMessage: (account, message) => window.dapp.call(() => client.signMessage({ account, message })),
  signTypedData: (account, typed) => window.dapp.call(() => client.signTypedData({ account, ...typed })),
  sendTransaction: (account, chainId, to, valueWei) =>
    window.dapp.call(() =>
      client.sendTransaction({ account, chain: chainFor(chainId), to, value: BigInt(valueWei) }),
    ),
  switchChain: (id) => window.dapp.call(() => client.switchChain({ id })),
  addChain: (id, name, rpcUrl) =>
    window.dapp.call(() =>
      client.addChain({
        chain: defineChain({
          id,
          name,
          nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
          rpcUrls: { default: { http: [rpcUrl] } },
        }),
      }),
    ),
  revoke: () => window.dapp.call(() => wallet.request({ method: 'wallet_revokePermissions', params: [{ eth_accounts: {} }] })),
  permissions: () => window.dapp.call(() => client.getPermissions()),
  // EIP-5792 through viem's own actions. Amounts are decimal strings (page
  // arguments); bigints in answers come back as decimal strings.
  capabilities: (account, chainId) =>
    window.dapp.call(async () => plain(await client.getCapabilities({ account, ...(chainId ? { chainId } : {}) }))),
  sendCalls: (account, chainId, calls, options = {}) =>
    window.dapp.call(async () => {
      const r = await client.sendCalls({
        account,
        chain: chainFor(chainId),
        calls: calls.map((c) => ({ to: c.to, data: c.data, value: c.value === undefined ? undefined : BigInt(c.value) })),
        ...options,
      });
      return r.id;
    }),
  callsStatus: (id) => window.dapp.call(async () => plain(await client.getCallsStatus({ id }))),
  waitForCalls: (id) =>
    window.dapp.call(async () => plain(await client.waitForCallsStatus({ id, pollingInterval: 250, timeout: 90_000 }))),
  // A second real client library, loaded on demand: ethers v6's BrowserProvider.
  ethersSign: (message) =>
    window.dapp.call(async () => {
      const { BrowserProvider } = await import('ethers');
      const signer = await new BrowserProvider(wallet).getSigner();
      return { address: await signer.getAddress(), signature: await signer.signMessage(message) };
    }),
};
document.getElementById('status').textContent = 'ready';
