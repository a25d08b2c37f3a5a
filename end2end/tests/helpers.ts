import { expect, Page } from '@playwright/test';
import * as fs from 'fs';

export const ADMIN = { username: 'root', password: 'admin password 1' };
export const OPERATOR = { username: 'olga', password: 'operator password 1' };
export const STAFF = { username: 'sam', password: 'staff password 1' };

/** The one-time setup token, read from the server's log as an administrator would. */
export function setupTokenFromLog(): string {
  const log = fs.readFileSync(process.env.E2E_SERVER_LOG!, 'utf8');
  const m = log.match(/\/setup\?token=([0-9a-f]+)/);
  if (!m) throw new Error('no setup token in the server log');
  return m[1];
}

/** Fails the test on any console error (a CSP violation, a hydration panic...). */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => {
    // The browser logs every non-2xx answer; the ones the app answers on purpose (sign in,
    // forbidden, conflict, validation, throttled) are shown to the user and are not errors.
    const expected = /Failed to load resource: the server responded with a status of (401|403|409|422|429)/;
    if (msg.type() === 'error' && !expected.test(msg.text())) errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(String(err)));
  return errors;
}

/** Waits until the wasm has hydrated the page (buttons work from then on). */
export async function hydrated(page: Page) {
  await page.locator('body[data-hydrated="true"]').waitFor({ state: 'attached' });
}

export async function signIn(page: Page, who: { username: string; password: string }) {
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Username').fill(who.username);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('current-user')).toContainText(who.username);
}

export async function signOut(page: Page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);
}

export async function screenshot(page: Page, name: string) {
  const dir = process.env.E2E_SCREENSHOTS;
  if (dir) await page.screenshot({ path: `${dir}/${name}.png`, fullPage: true });
}
