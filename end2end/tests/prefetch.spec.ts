import { expect, test } from '@playwright/test';
import { ADMIN, hydrated, signIn, watchConsole } from './helpers';

// Issue #24: how code reaches the browser. Runs after dashboard.spec.ts (files in name order):
// the admin exists. A fresh browser context per test, so the cache starts empty.
const code = (url: string) => /\.(wasm|js)$/.test(new URL(url).pathname);

test('a lazy screen opened directly names its code in the page, and fetches only that', async ({ page, browser, baseURL }) => {
  const errors = watchConsole(page);
  await signIn(page, ADMIN);
  // Signed in, with an empty cache: the session's cookie in a new context.
  const fresh = await browser.newContext({ baseURL, storageState: await page.context().storageState() });
  const p = await fresh.newPage();
  const freshErrors = watchConsole(p);
  const fetched: string[] = [];
  p.on('request', (r) => code(r.url()) && fetched.push(new URL(r.url()).pathname));
  await p.goto('/agents');
  await hydrated(p);
  await expect(p.locator('body[data-screen="/agents"]')).toBeAttached();
  // The head preloads the lazy screens' chunk beside the main module, so they load together.
  const preloaded = await p.locator('link[rel="preload"][href$=".wasm"]').evaluateAll(
    (links) => links.map((l) => new URL((l as HTMLLinkElement).href).pathname));
  expect(preloaded.length).toBeGreaterThanOrEqual(2);
  for (const wasm of fetched.filter((f) => f.endsWith('.wasm'))) expect(preloaded).toContain(wasm);
  // The main module, the hydration JS, the split loader and one chunk (a chunk per split
  // point and per set of screens sharing code was 40 to 60 files before).
  expect(fetched.length).toBeLessThanOrEqual(6);
  await fresh.close();
  expect(freshErrors).toEqual([]);
  expect(errors).toEqual([]);
});

test('after hydration the lazy screens load while the browser is idle: a nav click fetches no code', async ({ page }) => {
  const errors = watchConsole(page);
  await signIn(page, ADMIN);
  await page.goto('/persons');
  await hydrated(page);
  await page.waitForLoadState('networkidle');
  const fetched: string[] = [];
  page.on('request', (r) => code(r.url()) && fetched.push(r.url()));
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Agents' }).click();
  await expect(page.locator('body[data-screen="/agents"]')).toBeAttached();
  await expect(page.getByRole('heading', { name: 'Agents', level: 1 })).toBeVisible();
  await nav.getByRole('link', { name: 'Audit log' }).click();
  await expect(page.locator('body[data-screen="/audit"]')).toBeAttached();
  await expect(page.getByRole('heading', { name: 'Audit log', level: 1 })).toBeVisible();
  expect(fetched).toEqual([]);
  expect(errors).toEqual([]);
});
