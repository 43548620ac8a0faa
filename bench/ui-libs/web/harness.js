// Times one library's screen in this page (bench/ui-libs/bench.mjs drives it):
// ?lib=vdom|leptos|dioxus|sycamore&n=ROWS. Every library renders the same
// DOM into #app; the times are performance.now() readings (origin:
// navigation start), taken when a MutationObserver on #app first sees the
// expected DOM, so a library that updates the DOM later (a scheduler, a
// microtask) is timed until its update is really there.
const params = new URLSearchParams(location.search);
const lib = params.get('lib');
const n = Number(params.get('n'));
const app = document.getElementById('app');

// The balances the screen shows (the same formulas as the Rust code).
function balance(i, refreshed) {
  let b = (i * 7919 + 13) % 1_000_000;
  if (refreshed) b = (b * 3 + 1) % 1_000_000;
  return `${Math.floor(b / 1000)}.${String(b % 1000).padStart(3, '0')}`;
}

function rowBalance(list, i) {
  return list.children[i]?.querySelector('.balance')?.textContent;
}

function firstRendered() {
  const list = app.querySelector('[data-testid="token-list"]');
  return !!list && list.children.length === n && rowBalance(list, n - 1) === balance(n - 1, false)
    && !!app.querySelector('[data-testid="refresh"]');
}

function refreshed() {
  const list = app.querySelector('[data-testid="token-list"]');
  return !!list && list.children.length === n + 1 && rowBalance(list, 0) === balance(0, true)
    && rowBalance(list, n - 1) === balance(n - 1, true) && rowBalance(list, n) === balance(n, false);
}

/** The time at which `cond` first holds (checked after every DOM change in #app). */
function when(cond) {
  return new Promise((resolve) => {
    if (cond()) return resolve(performance.now());
    const mo = new MutationObserver(() => {
      if (cond()) {
        const t = performance.now();
        mo.disconnect();
        resolve(t);
      }
    });
    mo.observe(app, { childList: true, subtree: true, characterData: true, attributes: true });
  });
}

/** Forces style and layout now; the time when they are done. */
function layout() {
  void document.body.offsetHeight;
  return performance.now();
}

/** What the screen shows, without library-specific attributes or comment nodes. */
function shape(node) {
  if (node.nodeType === Node.TEXT_NODE) return node.data === '' ? null : JSON.stringify(node.data);
  if (node.nodeType !== Node.ELEMENT_NODE) return null;
  const attrs = ['class', 'data-testid'].filter((a) => node.hasAttribute(a)).map((a) => `${a}=${node.getAttribute(a)}`);
  const kids = [...node.childNodes].map(shape).filter((s) => s !== null);
  // Adjacent text nodes read as one (libraries split text differently).
  const merged = [];
  for (const k of kids) {
    if (k.startsWith('"') && merged.length && merged.at(-1).startsWith('"')) {
      merged[merged.length - 1] = JSON.stringify(JSON.parse(merged.at(-1)) + JSON.parse(k));
    } else merged.push(k);
  }
  return `<${node.localName}${attrs.length ? ' ' + attrs.join(' ') : ''}>${merged.join('')}</${node.localName}>`;
}

async function run() {
  const tImport = performance.now();
  const mod = await import(`./${lib}/bench_${lib}.js`);
  await mod.default({ module_or_path: new URL(`./${lib}/bench_${lib}_bg.wasm`, import.meta.url) });
  const tInit = performance.now();
  const rendered = when(firstRendered);
  mod.start(n);
  const tFirst = await rendered;
  const tFirstLayout = layout();
  const firstShape = shape(app);
  // Let any scheduled work of the first render finish before the click.
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50)));
  const button = app.querySelector('[data-testid="refresh"]');
  const updated = when(refreshed);
  const tClick = performance.now();
  button.click();
  const tUpdated = await updated;
  const tUpdatedLayout = layout();
  return {
    lib, n,
    import: tInit - tImport,           // fetch + compile + instantiate
    render: tFirst - tInit,            // start(n) -> list in the DOM
    firstRender: tFirst,               // navigation start -> list in the DOM
    firstRenderLayout: tFirstLayout,   // ... and laid out
    rerender: tUpdated - tClick,       // click -> every balance updated, row appended
    rerenderLayout: tUpdatedLayout - tClick,
    firstShape, updatedShape: shape(app),
  };
}

run().then((r) => { window.__result = r; }, (e) => { window.__result = { error: String(e?.stack ?? e) }; });
