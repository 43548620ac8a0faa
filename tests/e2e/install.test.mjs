// A fresh install opens onboarding in a tab; the user is never left guessing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './lib/index.mjs';

test('installing the extension opens the onboarding page in a tab', async () => {
  const browser = await launch();
  try {
    const deadline = Date.now() + 10_000;
    let tab;
    while (!tab && Date.now() < deadline) {
      tab = browser.context.pages().find((p) => p.url() === browser.url('extension/onboarding.html'));
      if (!tab) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(tab, `no onboarding tab among ${browser.context.pages().map((p) => p.url()).join(', ')}`);
    await tab.waitForSelector('[data-testid="onboard-create"]', { timeout: 10_000 });
  } finally {
    await browser.close();
  }
});
