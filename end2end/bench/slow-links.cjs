// Slow-link bench (issue #24): each screen's direct first visit and each nav click, cold cache,
// in Debian's Chromium, on loopback and with the network emulated at 150 ms RTT and 10 Mbit/s
// (CDP Network.emulateNetworkConditions). Not a test: figures are printed next to their
// targets, never asserted.
//
// "Ready" is the app's own marker: <body data-hydrated="true" data-screen="/path">, set once the
// page has hydrated (src/lib.rs) and the routed screen has been mounted with its code
// (src/app.rs, `screen_ready`). From then on its buttons work. Each visit runs in a fresh
// browser context, so the HTTP cache and the connections start empty (cold). Requests are
// counted from the navigation until the marker, and separately until the network has been
// quiet for 500 ms (what a page load really fetches, e.g. a prefetch after hydration).
//
// Env: BENCH_BASE_URL (the running release server), BENCH_USER / BENCH_PASSWORD (an admin),
// BENCH_ROUNDS (visits per figure, the median is reported; default 3), CHROMIUM_PATH,
// BENCH_NO_CLICKS=1 (direct visits only), BENCH_VERBOSE=1 (every URL each visit fetched).
// Prints a table and, last, one line of JSON with every figure (for the README).
const { chromium } = require('@playwright/test');

const BASE = process.env.BENCH_BASE_URL || 'http://127.0.0.1:3320';
const USER = process.env.BENCH_USER || 'bench';
const PASSWORD = process.env.BENCH_PASSWORD || 'bench password 1';
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const IDLE_MS = 1000;

// BENCH_MARKER=heading: for a build without the screen marker (before issue #24): ready is
// data-hydrated plus the screen's <h1> (a coarser signal, kept only to compare builds).
const HEADING_MARKER = process.env.BENCH_MARKER === 'heading';

// [path, nav label, the screen's <h1>]
const SCREENS = [
  ['/persons', 'Persons', 'Persons'],
  ['/', 'Overview', 'Overview'],
  ['/identities', 'Identities', 'Identities'],
  ['/chat', 'Chat', 'Chat'],
  ['/agents', 'Agents', 'Agents'],
  ['/activity', 'Chat activity', 'Chat activity'],
  ['/settings', 'Settings', 'Letta server'],
  ['/users', 'Users', 'Users'],
  ['/audit', 'Audit log', 'Audit log'],
];
const HEADINGS = Object.fromEntries([['/login', 'Letta Admin'], ...SCREENS.map((s) => [s[0], s[2]])]);
const PROFILES = [
  { name: 'loopback', rtt: 0 },
  { name: '150 ms RTT, 10 Mbit/s', rtt: 150, kbit: 10_000 },
];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function emulate(context, page, profile) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  if (profile.rtt) {
    const bytesPerSec = (profile.kbit * 1000) / 8;
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: profile.rtt,
      downloadThroughput: bytesPerSec,
      uploadThroughput: bytesPerSec,
    });
  }
  return cdp;
}

/** Counts requests from now on; `.atMark()` freezes the count at the ready marker. */
function counter(page) {
  const c = { all: 0, code: 0, marked: null, urls: [], lastAt: Date.now() };
  page.on('request', (r) => {
    c.all += 1;
    c.lastAt = Date.now();
    const u = r.url();
    if (/\.(wasm|js)(\?|$)/.test(u)) c.code += 1;
    c.urls.push(u.replace(BASE, ''));
  });
  c.atMark = () => {
    c.marked = { all: c.all, code: c.code };
  };
  return c;
}

async function quiet(c, ms = 500, max = 15_000) {
  const end = Date.now() + max;
  while (Date.now() < end) {
    if (Date.now() - c.lastAt >= ms) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function ready(page, screen) {
  if (HEADING_MARKER) {
    await page.locator('body[data-hydrated="true"]').waitFor({ state: 'attached', timeout: 60_000 });
    await page.locator('h1', { hasText: HEADINGS[screen] }).first().waitFor({ timeout: 60_000 });
    return;
  }
  await page.waitForSelector(`body[data-hydrated="true"][data-screen="${screen}"]`, {
    state: 'attached',
    timeout: 60_000,
  });
}

let cookies = null;
async function signedInCookies(browser) {
  if (cookies) return cookies;
  const context = await browser.newContext({ baseURL: BASE });
  const page = await context.newPage();
  await page.goto('/login');
  await ready(page, '/login');
  await page.getByLabel('Username').fill(USER);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('current-user').waitFor();
  cookies = await context.cookies();
  await context.close();
  return cookies;
}

async function freshPage(browser, profile, signedIn) {
  const context = await browser.newContext({ baseURL: BASE });
  if (signedIn) await context.addCookies(await signedInCookies(browser));
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of (401|403|409|422|429)/.test(m.text())) errors.push(m.text());
  });
  await emulate(context, page, profile);
  return { context, page, errors };
}

async function directVisit(browser, profile, path, signedIn = true) {
  const { context, page, errors } = await freshPage(browser, profile, signedIn);
  const c = counter(page);
  const t0 = Date.now();
  await page.goto(path, { waitUntil: 'commit' });
  await ready(page, path);
  const ms = Date.now() - t0;
  c.atMark();
  await quiet(c);
  await context.close();
  if (errors.length) throw new Error(`${path}: ${errors.join('; ')}`);
  return { ms, requests: c.marked.all, code: c.marked.code, requestsIdle: c.all, urls: c.urls };
}

async function navClick(browser, profile, path, label) {
  const from = path === '/persons' ? '/' : '/persons';
  const { context, page, errors } = await freshPage(browser, profile, true);
  const c0 = counter(page);
  await page.goto(from, { waitUntil: 'commit' });
  await ready(page, from);
  await quiet(c0);
  await page.waitForTimeout(IDLE_MS);
  const c = counter(page);
  const t0 = Date.now();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true }).click();
  await ready(page, path);
  const ms = Date.now() - t0;
  c.atMark();
  await quiet(c);
  await context.close();
  if (errors.length) throw new Error(`click ${label}: ${errors.join('; ')}`);
  return { ms, requests: c.marked.all, code: c.marked.code, requestsIdle: c.all, urls: c.urls };
}

async function measure(fn) {
  const runs = [];
  for (let i = 0; i < ROUNDS; i++) runs.push(await fn());
  return {
    ms: median(runs.map((r) => r.ms)),
    requests: Math.max(...runs.map((r) => r.requests)),
    code: Math.max(...runs.map((r) => r.code)),
    requestsIdle: Math.max(...runs.map((r) => r.requestsIdle)),
    urls: runs[runs.length - 1].urls,
  };
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const out = {};
  for (const profile of PROFILES) {
    const p = (out[profile.name] = { direct: {}, click: {} });
    p.direct['/login'] = await measure(() => directVisit(browser, profile, '/login', false));
    for (const [path] of SCREENS) {
      p.direct[path] = await measure(() => directVisit(browser, profile, path));
    }
    for (const [path, label] of process.env.BENCH_NO_CLICKS ? [] : SCREENS) {
      p.click[path] = await measure(() => navClick(browser, profile, path, label));
    }
  }
  await browser.close();

  const [lo, slow] = PROFILES.map((pr) => out[pr.name]);
  const slowRtt = PROFILES[1].rtt;
  const persons = slow.direct['/persons'].ms;
  const fmt = (n) => Math.round(n).toLocaleString('en-US');
  const lines = [];
  lines.push(`[slow-links] medians of ${ROUNDS} cold visits each; requests = until ready (until 500 ms quiet)`);
  lines.push('| screen | direct, loopback | direct, 150 ms RTT | ÷ /persons | requests | nav click, loopback | nav click, 150 ms RTT | round trips waited | code requests on click |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  let worstRatio = 0, worstReq = 0, worstTrips = 0;
  for (const path of ['/login', ...SCREENS.map((s) => s[0])]) {
    const d0 = lo.direct[path], d1 = slow.direct[path];
    const ratio = d1.ms / persons;
    worstRatio = Math.max(worstRatio, ratio);
    worstReq = Math.max(worstReq, d1.requests, d0.requests);
    let click = '| — | — | — | —';
    if (lo.click[path] && slow.click[path]) {
      const k0 = lo.click[path], k1 = slow.click[path];
      const trips = Math.max(0, (k1.ms - k0.ms) / slowRtt);
      if (path !== '/persons') worstTrips = Math.max(worstTrips, trips);
      click = `| ${fmt(k0.ms)} ms | ${fmt(k1.ms)} ms | ${trips.toFixed(1)} | ${k1.code} (${k1.requests} requests)`;
    }
    lines.push(`| ${path} | ${fmt(d0.ms)} ms | ${fmt(d1.ms)} ms | ${ratio.toFixed(2)} | ${d1.requests} (${d1.requestsIdle}) ${click} |`);
  }
  lines.push(`[slow-links] worst direct visit at ${slowRtt} ms RTT ÷ /persons: ${worstRatio.toFixed(2)} (target ≤ 1.30: ${worstRatio <= 1.3 ? 'met' : 'NOT met'})`);
  lines.push(`[slow-links] most requests until ready on a first visit: ${worstReq} (target ≤ 10: ${worstReq <= 10 ? 'met' : 'NOT met'})`);
  lines.push(`[slow-links] nav click after ${IDLE_MS / 1000} s idle, most round trips waited (150 ms-RTT time − loopback time, ÷ RTT): ${worstTrips.toFixed(1)} (target ≤ 1: ${worstTrips <= 1 ? 'met' : 'NOT met'})`);
  console.log(lines.join('\n'));
  if (process.env.BENCH_VERBOSE) {
    for (const [name, p] of Object.entries(out)) {
      for (const [kind, rows] of Object.entries(p)) {
        for (const [path, r] of Object.entries(rows)) console.log(`${name} ${kind} ${path}: ${r.urls.join(' ')}`);
      }
    }
  }
  const compact = {};
  for (const [name, p] of Object.entries(out)) {
    compact[name] = {};
    for (const [kind, rows] of Object.entries(p)) {
      compact[name][kind] = Object.fromEntries(Object.entries(rows).map(([k, r]) => [k, { ms: r.ms, requests: r.requests, code: r.code, requestsIdle: r.requestsIdle }]));
    }
  }
  console.log(JSON.stringify(compact));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
