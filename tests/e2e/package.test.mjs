// scripts/package: the zip holds only what the extension needs, and Chromium
// loads the unpacked zip as the same extension (same id from the manifest key).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ROOT, EXTENSION_ID, launch } from './lib/index.mjs';

describe('scripts/package', { timeout: 120_000 }, () => {
  let dir, files;

  before(async () => {
    execFileSync(path.join(ROOT, 'scripts/package'), ['--no-build'], { stdio: 'pipe' });
    const manifest = JSON.parse(await readFile(path.join(ROOT, 'manifest.json'), 'utf8'));
    const zip = path.join(ROOT, 'dist', `tandem-${manifest.version}.zip`);
    dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-pkg-'));
    execFileSync('python3', ['-m', 'zipfile', '-e', zip, dir]);
    files = execFileSync('python3', ['-c', 'import sys,zipfile;print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', zip])
      .toString()
      .trim()
      .split('\n');
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('ships the runtime files and nothing else', () => {
    for (const f of ['manifest.json', '_locales/en/messages.json', 'extension/background.js', 'extension/content/inpage.js',
      'extension/content/relay.js', 'extension/wasm/tandem_wasm_bg.wasm', 'extension/wasm/tandem_wasm.js', 'extension/icons/icon-128.png']) {
      assert.ok(files.includes(f), `${f} is in the zip`);
    }
    const stray = files.filter((f) => /\.(md|rs|toml|lock|mjs|map|ts|pem)$/.test(f) || f.startsWith('tests/') || f.startsWith('crates/') || f.startsWith('node_modules/'));
    assert.deepEqual(stray, []);
  });

  it('loads in Chromium as the same extension and its worker answers', async () => {
    const browser = await launch({ extensionDir: dir });
    try {
      assert.equal(browser.extId, EXTENSION_ID);
      const state = await browser.ui('state');
      assert.equal(state.initialized, false);
      assert.equal(state.networks.length, 7);
    } finally {
      await browser.close();
    }
  });
});
