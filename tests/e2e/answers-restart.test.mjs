// End to end: every answer goes the recorded way (issue 13 item 13, issue 12's
// audit log). The answers that do not come from the approval window (the
// phone's, with confirm on phone, a request withdrawn because its window
// closed, and one rejected by the lock) are stored before they are carried out, like the window's, so a
// service worker killed between the answer and its delivery loses nothing,
// sends nothing twice, and the page's promise settles. The activity log says
// where a request was answered ("Approved on Pixel 8", "Rejected on Pixel
// 8"), and the wallet's own Send is shown as such, on the phone and in the
// log, never as a site called "tandem:wallet".
//
// Real parts: the extension in headless Chromium, the phone app (served by
// the relay binary) in another, paired through the relay on 127.0.0.1, anvil
// behind a proxy that can hold eth_sendRawTransaction (lib/lying-rpc.mjs),
// the viem test dapp. The worker is killed as Chrome stops it (CDP
// ServiceWorker.stopAllWorkers; see mv3-restart.test.mjs).
// Run: node --test tests/e2e/answers-restart.test.mjs
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  launch,
  openPopup,
  openDapp,
  startAnvil,
  startDapp,
  jsonRpc,
  until,
  ROOT,
  ANVIL_MNEMONIC,
  ANVIL_ACCOUNT_0 as A0,
  ANVIL_ACCOUNT_1 as A1,
  PASSWORD,
} from './lib/index.mjs';
import { onboardImport } from './lib/onboard.mjs';
import { startRelay } from './lib/devices.mjs';
import { startLyingRpc } from './lib/lying-rpc.mjs';
import { pairPhone, approveOnDesktop, onPhone } from './lib/confirm.mjs';

const ETH = 10n ** 18n;

describe('answers from the phone and withdrawals are recorded before they are carried out', { timeout: 600_000 }, () => {
  let relay, anvil, gate, dapp, browser, phone, phonePage, page, cdp;
  let desktopName;
  /** How often CDP reported the extension's worker stopped. */
  let stopped = 0;
  const d = (fn, ...args) => page.evaluate(fn, ...args);
  // 'pending' counts what the node took but has not mined yet: anvil answers
  // eth_sendRawTransaction before its automine block exists, so 'latest' can
  // lag a send the wallet already finished (seen under load in CI).
  const nonce = () => jsonRpc(anvil.url, 'eth_getTransactionCount', [A0, 'pending']).then(Number);
  const stored = () => browser.ext.evaluate(async () => (await chrome.storage.session.get('tandem.answers'))['tandem.answers'] ?? []);
  const windowOf = (id) =>
    until(() => browser.context.pages().find((p) => p.url().endsWith(`approval.html?id=${id}`)), `the window of #${id}`);

  async function kill() {
    const before = stopped;
    await browser.killWorker();
    await until(() => stopped > before, 'CDP to report the worker stopped');
  }

  /** The raw transactions sent since the `from`-th are all the same bytes. */
  function oneSetOfBytes(from) {
    const raws = new Set(gate.asked('eth_sendRawTransaction').slice(from).map((r) => r.params[0]));
    assert.equal(raws.size, 1, `sent as ${raws.size} different transactions`);
  }

  /** The activity log's sentences, as the popup shows them (newest first). */
  async function logLines() {
    const popup = await openPopup(browser);
    await popup.getByTestId('settings-button').click();
    await popup.getByTestId('open-audit').click();
    await popup.getByTestId('audit-list').waitFor({ timeout: 20_000 });
    const lines = await popup.locator('[data-testid="audit-list"] > li > span:first-child').allTextContents();
    assert.deepEqual(popup.errors, []);
    await popup.close();
    return lines;
  }

  /** Waits for the log to hold a sign entry that `match`es; returns them all. */
  async function signEntries(match) {
    return until(async () => {
      const v = await browser.ui('audit.view');
      const sign = v.entries.filter((e) => e.happened.kind === 'sign');
      return sign.some(match) && sign;
    }, 'the answer in the activity log', 20_000);
  }

  before(async () => {
    [relay, anvil, dapp] = await Promise.all([startRelay({ appDir: path.join(ROOT, 'phone') }), startAnvil(), startDapp()]);
    gate = await startLyingRpc(anvil.url);
    browser = await launch();
    await onboardImport(browser, ANVIL_MNEMONIC, PASSWORD);
    await browser.ui('networks.upsert', { chainId: 31337, name: 'Anvil', rpcUrl: gate.url, symbol: 'ETH' });
    await browser.ui('networks.select', { chainId: 31337 });
    await browser.ui('devices.relay.set', { relay: relay.url });
    ({ phone, phonePage } = await pairPhone(browser, relay));
    await until(async () => (await browser.ui('state')).phone?.policy?.value_above_milli === 100, "the browser to learn the phone's policy", 20_000);
    const devices = await browser.ui('devices.view');
    desktopName = devices.devices.find((x) => x.id === devices.me)?.name;
    assert.ok(desktopName, JSON.stringify(devices));
    ({ page } = await openDapp(browser, dapp.url));
    // Connecting a new site needs the phone (its default policy).
    const connected = d(() => window.dapp.connect());
    await approveOnDesktop(browser, 'connect');
    await onPhone(phonePage, true);
    assert.deepEqual((await connected).result, [A0]);
    cdp = await browser.context.newCDPSession(browser.ext);
    cdp.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
      if (versions.some((v) => v.scriptURL.includes(browser.extId) && v.runningStatus === 'stopped')) stopped += 1;
    });
    await cdp.send('ServiceWorker.enable');
  });

  after(async () => {
    await cdp?.detach().catch(() => {});
    await phone?.close();
    await browser?.close();
    await Promise.all([relay?.stop(), gate?.close(), anvil?.stop(), dapp?.close()]);
  });

  it("killed after the phone approved a send, before the node saw it: sent once after the restart, the dapp gets the hash, the log says 'Approved on Pixel 8'", async () => {
    const before = await nonce();
    const sends = gate.asked('eth_sendRawTransaction').length;
    const sent = d(([a, to, v]) => window.dapp.sendTransaction(a, 31337, to, v), [A0, A1, ETH.toString()]);
    const { a } = await approveOnDesktop(browser, 'transaction');
    const held = gate.hold('eth_sendRawTransaction', { forward: false });
    await onPhone(phonePage, true);
    await held; // the phone's answer reached the desktop, which signed it; the node has not seen it
    // The phone's answer is recorded, signed, in the stored record.
    const record = (await stored()).find((x) => x.id === a.id);
    assert.equal(record?.then?.type, 'send_signed', JSON.stringify(record));
    assert.equal(await nonce(), before);
    await kill();
    // The page's provider notices the worker stopped and asks after its
    // request; that starts the worker, which carries the record on.
    const res = await sent;
    assert.match(res.result ?? '', /^0x[0-9a-f]{64}$/, JSON.stringify(res));
    assert.equal(await nonce(), before + 1, 'exactly one transaction');
    const tx = await jsonRpc(anvil.url, 'eth_getTransactionByHash', [res.result]);
    assert.equal(Number(tx.nonce), before);
    assert.equal(BigInt(tx.value), ETH);
    assert.equal(gate.asked('eth_sendRawTransaction').length, sends + 2, 'held once, sent once');
    oneSetOfBytes(sends);
    assert.equal((await browser.ui('activity')).filter((x) => x.hash === res.result).length, 1);
    await until(async () => (await stored()).length === 0, 'the record forgotten once delivered');
    // The log names the phone that approved it, once.
    const phoneId = record.audit?.approvedOn;
    assert.match(phoneId ?? '', /^[0-9a-f]{32}$/);
    const sign = await signEntries((e) => e.happened.approved_on === phoneId && e.happened.summary.startsWith('send 1 ETH'));
    assert.equal(sign.filter((e) => e.happened.summary.startsWith('send 1 ETH')).length, 1, 'recorded once');
    const origin = new URL(dapp.url).origin;
    const lines = await logLines();
    assert.ok(
      lines.some((l) => l.startsWith(`Approved on Pixel 8: ${origin} asked for eth_sendTransaction on chain 31337: send 1 ETH to`)),
      JSON.stringify(lines),
    );
  });

  it("the phone's rejection: the dapp gets 4001 and the log says 'Rejected on Pixel 8'", async () => {
    const before = await nonce();
    const sent = d(
      ([from, to]) => window.dapp.raw({ method: 'eth_sendTransaction', params: [{ from, to, value: '0x1bc16d674ec80000' }] }),
      [A0, A1],
    );
    await approveOnDesktop(browser, 'transaction');
    await onPhone(phonePage, false);
    const res = await sent;
    assert.equal(res.error?.code, 4001, JSON.stringify(res));
    assert.match(res.error.message, /Rejected on your phone/);
    assert.equal(await nonce(), before, 'nothing was sent');
    await signEntries((e) => e.happened.approved === false && e.happened.summary.startsWith('send 2 ETH'));
    const origin = new URL(dapp.url).origin;
    const lines = await logLines();
    assert.ok(
      lines.some((l) => l.startsWith(`Rejected on Pixel 8: ${origin} asked for eth_sendTransaction on chain 31337: send 2 ETH`)),
      JSON.stringify(lines),
    );
  });

  it("the wallet's own Send on the phone: 'Send from Tandem on <this browser>', never the site 'tandem:wallet'; the log says it the same way", async () => {
    // As the popup's Send makes it (crates/ui/src/send.rs): 0.2 ETH, above the phone's 0.1.
    await browser.ui('send.start', { transaction: { from: A0, to: A1, value: '0x2c68af0bb140000' } });
    const { win } = await approveOnDesktop(browser, 'transaction');
    const waiting = await win.getByTestId('approval-phone-wait').textContent();
    assert.ok(!waiting.includes('tandem:wallet'), waiting);
    const shown = phonePage.getByTestId('approve-screen');
    await shown.waitFor({ timeout: 20_000 });
    const phoneText = await shown.textContent();
    const rows = await onPhone(phonePage, true);
    assert.equal(rows.from, `Send from Tandem on ${desktopName}`, JSON.stringify(rows));
    assert.equal(rows.site, undefined);
    assert.ok(!phoneText.includes('tandem:wallet'), phoneText);
    await signEntries((e) => e.happened.site === 'tandem:wallet' && e.happened.summary.startsWith('send 0.2 ETH'));
    const lines = await logLines();
    const line = lines.find((l) => l.includes('send 0.2 ETH'));
    assert.equal(line?.startsWith(`Approved on Pixel 8: your own send from Tandem on ${desktopName}, on chain 31337: send 0.2 ETH to`), true, line);
    assert.ok(!lines.some((l) => l.includes('tandem:wallet')), JSON.stringify(lines));
  });

  it('killed after a closed window withdrew its request, before the page heard: the page gets 4001 after the restart, logged once', async () => {
    // Answers are carried out one at a time: a send held at the node keeps
    // the withdrawal's delivery waiting behind it (the point to kill at).
    const before = await nonce();
    const sends = gate.asked('eth_sendRawTransaction').length;
    const signed = d((a) => window.dapp.raw({ method: 'personal_sign', params: ['0x77697468647261776e', a] }), A0);
    let settled = false;
    signed.then(() => (settled = true));
    const b = await until(async () => (await browser.ui('approvals.list')).find((x) => x.kind === 'personal_sign'), 'the signature request');
    const bWindow = await windowOf(b.id);
    // The wallet's own small send (no phone): approved, held at the node.
    const held = gate.hold('eth_sendRawTransaction', { forward: false });
    const own = await browser.ui('send.start', { transaction: { from: A0, to: A1, value: '0x1' } });
    await until(async () => !(await browser.ui('approvals.list')).find((x) => x.id === own.approval)?.needsFill, 'its fees');
    const resolving = browser.ui('approvals.resolve', { id: own.approval, approve: true }).catch((e) => e);
    await held;
    await bWindow.close();
    // Withdrawn and recorded (the 4001 for the page), not delivered yet.
    const record = await until(async () => (await stored()).find((x) => x.id === b.id), 'the withdrawal recorded');
    assert.equal(record.then.type, 'error');
    assert.equal(record.then.error.code, 4001);
    assert.equal(settled, false, 'the page has not heard yet');
    assert.deepEqual(await browser.ui('approvals.list'), []);
    await kill();
    await resolving; // the window's call ended with the worker
    const res = await signed;
    assert.equal(res.error?.code, 4001, JSON.stringify(res));
    // The held send went out once, as the same bytes.
    await until(async () => (await nonce()) === before + 1, 'the own send mined');
    oneSetOfBytes(sends);
    await until(async () => (await stored()).length === 0, 'both records forgotten');
    const sign = await signEntries((e) => e.happened.method === 'personal_sign' && e.happened.summary.includes('withdrawn'));
    assert.equal(sign.filter((e) => e.happened.summary.includes('withdrawn')).length, 1, 'logged once');
    const entry = sign.find((e) => e.happened.summary.includes('withdrawn'));
    assert.equal(entry.happened.approved, false);
    assert.equal(entry.happened.approved_on, null, 'nobody answered it');
  });

  it('killed after the lock rejected a waiting request, before the page heard: the page gets the 4001 saying Tandem locked', async () => {
    const before = await nonce();
    const signed = d((a) => window.dapp.raw({ method: 'personal_sign', params: ['0x6c6f636b6564', a] }), A0);
    let settled = false;
    signed.then(() => (settled = true));
    const b = await until(async () => (await browser.ui('approvals.list')).find((x) => x.kind === 'personal_sign'), 'the signature request');
    await windowOf(b.id);
    const held = gate.hold('eth_sendRawTransaction', { forward: false });
    const own = await browser.ui('send.start', { transaction: { from: A0, to: A1, value: '0x2' } });
    await until(async () => !(await browser.ui('approvals.list')).find((x) => x.id === own.approval)?.needsFill, 'its fees');
    const resolving = browser.ui('approvals.resolve', { id: own.approval, approve: true }).catch((e) => e);
    await held;
    await browser.ui('lock');
    const record = await until(async () => (await stored()).find((x) => x.id === b.id), 'the rejection recorded');
    assert.match(record.then.error.message, /locked/);
    assert.equal(settled, false, 'the page has not heard yet');
    await kill();
    await resolving;
    const res = await signed;
    assert.equal(res.error?.code, 4001, JSON.stringify(res));
    assert.match(res.error.message, /Tandem locked before this request was answered/);
    // The send approved before the lock was signed then: it goes out once.
    await until(async () => (await nonce()) === before + 1, 'the own send mined');
    await until(async () => (await stored()).length === 0, 'both records forgotten');
    assert.equal((await browser.ui('state')).unlocked, false);
    await browser.ui('unlock', { password: PASSWORD });
    const sign = await signEntries((e) => e.happened.summary.includes('locked'));
    assert.equal(sign.filter((e) => e.happened.summary.includes('locked')).length, 1, 'logged once');
  });
});
