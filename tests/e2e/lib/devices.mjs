// Helpers for the pairing end-to-end tests: the real relay binary and the
// real command-line device (`tandem`) as the phone, both on 127.0.0.1.
import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { PNG } from 'pngjs';
import jsQR from 'jsqr';
import { ROOT, until, launch, stopOnExit, ANVIL_MNEMONIC, PASSWORD } from './index.mjs';
import { onboardImport } from './onboard.mjs';

function bin(name) {
  // scripts/ build into $CARGO_TARGET_DIR (a cache outside the clone); a
  // plain `cargo build` into ./target.
  // TANDEM_BIN_PROFILE=release: the release build only (benchmarks).
  const dirs = [process.env.CARGO_TARGET_DIR, path.join(ROOT, 'target')].filter(Boolean);
  const profiles = process.env.TANDEM_BIN_PROFILE ? [process.env.TANDEM_BIN_PROFILE] : ['debug', 'release'];
  for (const dir of dirs) {
    for (const profile of profiles) {
      const p = path.join(dir, profile, name);
      if (existsSync(p)) return p;
    }
  }
  throw new Error(`${name} is not built: run cargo build -p tandem-relay -p tandem-cli first`);
}

/** A process whose stdout lines can be awaited. */
class Lines {
  constructor(proc) {
    this.proc = proc;
    this.lines = [];
    this.waiters = [];
    this.exit = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
    this.stderr = '';
    proc.stderr?.on('data', (d) => (this.stderr += d));
    readline.createInterface({ input: proc.stdout }).on('line', (l) => {
      this.lines.push(l);
      for (const w of [...this.waiters]) w();
    });
  }
  /** Resolves with the rest of the first line starting with `prefix`. */
  wait(prefix, timeoutMs = 30_000) {
    const find = () => this.lines.find((l) => l.startsWith(prefix));
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`no "${prefix}" line in ${timeoutMs} ms; saw:\n${this.lines.join('\n')}\n${this.stderr}`)),
        timeoutMs,
      );
      const check = () => {
        const l = find();
        if (l !== undefined) {
          clearTimeout(t);
          this.waiters = this.waiters.filter((w) => w !== check);
          resolve(l.slice(prefix.length).trim());
        }
      };
      this.waiters.push(check);
      check();
    });
  }
  answer(line) {
    this.proc.stdin.write(`${line}\n`);
  }
}

/** The real relay on a free port (it binds 127.0.0.1:0 and prints its URL);
 * with `appDir`, it also serves the phone app at /app/ (`appUrl`); with
 * `publicUrl`, devices reach it there (behind a proxy). `restart()` stops
 * it and starts it again on the same port and database (an outage). */
export async function startRelay({ appDir, publicUrl, listen = '127.0.0.1:0', dir: keep } = {}) {
  const dir = keep ?? (await mkdtemp(path.join(os.tmpdir(), 'tandem-relay-')));
  const args = ['--listen', listen, '--database', path.join(dir, 'relay.db')];
  if (appDir) args.push('--app-dir', appDir);
  if (publicUrl) args.push('--public-url', publicUrl);
  const proc = spawn(bin('tandem-relay'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  stopOnExit(proc);
  const out = new Lines(proc);
  // A relay that could not bind exits at once: say why (its stderr), not
  // only that no line came.
  const line = await Promise.race([
    out.wait('tandem-relay listening on ', 30_000),
    out.exit.then((code) => {
      throw Object.assign(new Error(`tandem-relay exited (${code}) before listening on ${listen}: ${out.stderr.trim()}`), {
        inUse: /in use/i.test(out.stderr),
      });
    }),
  ]);
  const url = line.split(/\s+/)[0];
  const appUrl = appDir ? (await out.wait('tandem-relay serves the phone app at ', 10_000)).split(/\s+/)[0] : null;
  const halt = async () => {
    proc.kill('SIGTERM');
    await Promise.race([out.exit, new Promise((r) => setTimeout(r, 5000))]);
    proc.kill('SIGKILL');
  };
  return {
    url,
    appUrl,
    dir,
    /** Stops it, keeping its database (then `restart`). */
    halt,
    /** Starts it again where it was (the port it had, its database). */
    async restart() {
      // The port it had: the devices know the relay by it. The old socket
      // may hold it for a moment after the process ended, or another
      // program may have taken it meanwhile: retried for up to ~10 s, then
      // the relay's own error.
      let again;
      for (let attempt = 1; !again; attempt++) {
        try {
          again = await startRelay({ appDir, publicUrl, listen: new URL(url).host, dir });
        } catch (e) {
          if (!e.inUse || attempt >= 20) throw e;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      Object.assign(this, { halt: again.halt, restart: again.restart, stop: again.stop });
    },
    async stop() {
      await halt();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A command-line device (the phone in these tests). */
export async function startPhone(relayUrl, name = 'phone') {
  const home = await mkdtemp(path.join(os.tmpdir(), 'tandem-phone-'));
  const env = { ...process.env, TANDEM_PASSWORD: 'correct horse', TANDEM_INSECURE_TEST_KDF: '1' };
  const run = (args) =>
    new Promise((resolve, reject) => {
      execFile(bin('tandem'), ['--home', home, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
        if (err) {
          err.message += `\n${stdout}\n${stderr}`;
          reject(err);
        } else resolve(stdout);
      });
    });
  const spawnCli = (args) => {
    const proc = spawn(bin('tandem'), ['--home', home, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    stopOnExit(proc);
    return new Lines(proc);
  };
  await run(['init', '--name', name, '--relay', relayUrl]);
  const who = await run(['whoami']);
  const id = who.match(/^device: (\w+)/m)[1];
  return {
    home,
    id,
    run,
    spawn: spawnCli,
    async close() {
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** The real relay, and the extension in a fresh profile with the anvil
 * wallet imported, set to use that relay. */
export async function walletOnRelay() {
  const relay = await startRelay();
  const browser = await launch();
  await onboardImport(browser, ANVIL_MNEMONIC, PASSWORD);
  await browser.ui('devices.relay.set', { relay: relay.url });
  return { relay, browser };
}

/** In the open popup `page`, the browser approves the command-line device
 * `cli` into its group from the link `tandem pair show` prints, both sides
 * comparing the same code; returns once both say paired. */
export async function approveFromLink(page, cli) {
  const show = cli.spawn(['pair', 'show', '--no-qr', '--timeout', '60']);
  const link = await show.wait('link: ');
  await page.getByTestId('open-devices').click();
  await page.locator('#app > .app[data-screen="devices"]').waitFor({ timeout: 20_000 });
  await page.getByTestId('add-device-start').click();
  await page.getByTestId('add-device-link').fill(link);
  await page.getByTestId('add-device-submit').click();
  await page.getByTestId('pair-code').waitFor({ timeout: 20_000 });
  const code = await show.wait('code: ');
  const shown = (await page.getByTestId('pair-code').textContent()).replace(/\s/g, '');
  if (shown !== code) throw new Error(`the popup shows code ${shown}, the CLI ${code}`);
  await page.getByTestId('pair-codes-match').click();
  show.answer('y');
  await show.wait('paired: group ', 30_000);
  if ((await show.exit) !== 0) throw new Error(`tandem pair show failed: ${show.stderr}`);
  await page.getByTestId('pair-done').waitFor({ timeout: 20_000 });
}

/** Decodes the QR code in a PNG screenshot, the way a camera would read it. */
export function decodeQr(png) {
  const img = PNG.sync.read(png);
  const code = jsQR(new Uint8ClampedArray(img.data), img.width, img.height);
  return code?.data ?? null;
}

/**
 * The pairing QR the popup `page` shows, photographed and read: `{ shot,
 * link }`. Taken again when the popup re-rendered the code between
 * finding it and the photograph (playwright: "Element is not attached to
 * the DOM", seen in phone-audit.test.mjs's pairing).
 */
export async function readPairingQr(page) {
  const qr = page.getByTestId('pair-qr');
  await qr.waitFor({ timeout: 20_000 });
  return until(async () => {
    const shot = await qr.screenshot({ timeout: 5_000 }).catch(() => null);
    const link = shot && decodeQr(shot);
    return link && { shot, link };
  }, 'the pairing QR to be read', 20_000);
}

/**
 * A y4m video (one 640x480 frame, 4:2:0) for Chromium's fake camera from a
 * PNG, centred on white: the phone's camera "sees" that picture
 * (--use-file-for-fake-video-capture).
 */
export function pngToY4m(png) {
  const img = PNG.sync.read(png);
  const W = 640;
  const H = 480;
  const scale = Math.min(1, (H - 40) / img.height, (W - 40) / img.width);
  const w = Math.floor(img.width * scale);
  const h = Math.floor(img.height * scale);
  const x0 = Math.floor((W - w) / 2);
  const y0 = Math.floor((H - h) / 2);
  const y = Buffer.alloc(W * H, 235);
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      const sx = Math.min(img.width - 1, Math.floor(i / scale));
      const sy = Math.min(img.height - 1, Math.floor(j / scale));
      const k = (sy * img.width + sx) * 4;
      const luma = (img.data[k] * 299 + img.data[k + 1] * 587 + img.data[k + 2] * 114) / 1000;
      // Studio range, as cameras deliver it: 16 (black) .. 235 (white).
      y[(y0 + j) * W + x0 + i] = Math.round(16 + (luma * 219) / 255);
    }
  }
  const chroma = Buffer.alloc((W / 2) * (H / 2) * 2, 128);
  return Buffer.concat([Buffer.from(`YUV4MPEG2 W${W} H${H} F30:1 Ip A1:1 C420jpeg\nFRAME\n`), y, chroma]);
}

export { until };
