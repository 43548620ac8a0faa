// A static server for the test dapp that lets a browser import npm packages
// (viem and its dependencies) straight from node_modules: bare import
// specifiers in served JavaScript are rewritten to file URLs under /fs/,
// resolved with the packages' own "exports" maps. No bundler, no network.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
};

function pick(target, conditions) {
  if (typeof target === 'string') return target;
  if (Array.isArray(target)) {
    for (const t of target) {
      const r = pick(t, conditions);
      if (r) return r;
    }
    return null;
  }
  if (target && typeof target === 'object') {
    for (const [k, v] of Object.entries(target)) {
      if (conditions.includes(k)) {
        const r = pick(v, conditions);
        if (r) return r;
      }
    }
  }
  return null;
}

const CONDITIONS = ['browser', 'import', 'module', 'default'];

/** Resolves a bare specifier imported from `fromFile` to an absolute path. */
export function resolveBare(spec, fromFile) {
  const parts = spec.split('/');
  const pkgName = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  const sub = '.' + spec.slice(pkgName.length);
  let dir = path.dirname(fromFile);
  for (;;) {
    const candidate = path.join(dir, 'node_modules', pkgName);
    if (existsSync(path.join(candidate, 'package.json'))) {
      const pkg = JSON.parse(readFileSync(path.join(candidate, 'package.json'), 'utf8'));
      let rel = null;
      if (pkg.exports) {
        const ex = typeof pkg.exports === 'string' || Array.isArray(pkg.exports) || !Object.keys(pkg.exports)[0]?.startsWith('.')
          ? { '.': pkg.exports }
          : pkg.exports;
        if (ex[sub] !== undefined) rel = pick(ex[sub], CONDITIONS);
        else {
          for (const [k, v] of Object.entries(ex)) {
            const star = k.indexOf('*');
            if (star < 0) continue;
            const pre = k.slice(0, star);
            const post = k.slice(star + 1);
            if (sub.startsWith(pre) && sub.endsWith(post)) {
              const mid = sub.slice(pre.length, sub.length - post.length);
              const t = pick(v, CONDITIONS);
              if (t) rel = t.replaceAll('*', mid);
              break;
            }
          }
        }
      } else if (sub === '.') {
        rel = pkg.module ?? pkg.main ?? 'index.js';
      } else {
        rel = sub;
      }
      if (!rel) return null;
      return path.join(candidate, rel);
    }
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/**
 * The package.json "browser" field: a package may swap its Node-only files
 * for browser ones (ethers swaps its crypto and socket modules this way).
 */
function browserSwap(file) {
  let dir = path.dirname(file);
  while (path.basename(path.dirname(dir)) !== 'node_modules' && !path.basename(path.dirname(dir)).startsWith('@')) {
    const up = path.dirname(dir);
    if (up === dir) return file;
    dir = up;
  }
  const pj = path.join(dir, 'package.json');
  if (!existsSync(pj)) return file;
  const browser = JSON.parse(readFileSync(pj, 'utf8')).browser;
  if (!browser || typeof browser !== 'object') return file;
  const mapped = browser['./' + path.relative(dir, file).split(path.sep).join('/')];
  return typeof mapped === 'string' ? path.join(dir, mapped) : file;
}

const IMPORT_RE = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"./][^'"]*)\2/g;

function rewrite(code, file) {
  return code.replace(IMPORT_RE, (m, kw, q, spec) => {
    if (spec.includes(':') || spec.includes(' ')) return m;
    const r = resolveBare(spec, file);
    return r ? `${kw}${q}/fs${r}${q}` : m;
  });
}

/**
 * Serves `root` at / and files under `allowDir` at /fs/<absolute path>.
 * Returns { url, close }.
 */
export async function serveStatic(root, allowDir) {
  const cache = new Map();
  const server = createServer(async (req, res) => {
    try {
      const u = new URL(req.url, 'http://x');
      let file;
      if (u.pathname.startsWith('/fs/')) {
        file = path.normalize(decodeURIComponent(u.pathname.slice(3)));
        if (!file.startsWith(allowDir + path.sep)) throw new Error('outside');
        file = browserSwap(file);
      } else {
        file = path.join(root, path.normalize(decodeURIComponent(u.pathname)).replace(/^([/\\])+/, ''));
        if (u.pathname.endsWith('/')) file = path.join(file, 'index.html');
        if (!file.startsWith(root)) throw new Error('outside');
      }
      let body = cache.get(file);
      if (!body) {
        if (!(await stat(file)).isFile()) throw new Error('not a file');
        body = await readFile(file);
        if (/\.m?js$/.test(file)) body = Buffer.from(rewrite(body.toString('utf8'), file));
        cache.set(file, body);
      }
      res.writeHead(200, {
        'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'cache-control': 'max-age=3600',
      });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end('not found');
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}
