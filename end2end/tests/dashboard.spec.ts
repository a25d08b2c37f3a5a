import { expect, test } from '@playwright/test';
import {
  ADMIN, OPERATOR, STAFF, hydrated, screenshot, setupTokenFromLog, signIn, signOut, watchConsole,
} from './helpers';

const LETTA_URL = process.env.E2E_LETTA_URL!;
const LETTA_PASSWORD = process.env.E2E_LETTA_PASSWORD!;

// One dashboard, one story: the steps build on each other, in order.
test.describe.serial('letta-admin in a browser', () => {
  test('first-run setup with the token from the log creates the admin', async ({ page }) => {
    const errors = watchConsole(page);
    await page.goto('/');
    await expect(page).toHaveURL(/\/login/);
    await page.goto(`/setup?token=${setupTokenFromLog()}`);
    await hydrated(page);
    await expect(page.getByRole('heading', { name: 'Create the first admin' })).toBeVisible();
    await screenshot(page, 'setup');
    await page.getByLabel('Username').fill(ADMIN.username);
    await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
    await page.getByLabel('Repeat the password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Create admin' }).click();
    await expect(page.getByRole('heading', { name: 'Admin created' })).toBeVisible();
    await page.goto('/setup');
    await expect(page.getByRole('heading', { name: 'Setup is complete' })).toBeVisible();
    expect(errors).toEqual([]);
  });

  test('a wrong password shows the generic message', async ({ page }) => {
    await page.goto('/login');
    await hydrated(page);
    await page.getByLabel('Username').fill(ADMIN.username);
    await page.getByLabel('Password').fill('not my password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toHaveText('Wrong username or password.');
    await screenshot(page, 'login-error');
    await page.getByLabel('Username').fill('nobody-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toHaveText('Wrong username or password.');
  });

  test('the admin creates an operator and a staff member', async ({ page }) => {
    const errors = watchConsole(page);
    await signIn(page, ADMIN);
    const nav = page.getByRole('navigation', { name: 'Main' });
    await expect(nav.getByRole('link')).toHaveText(['Overview', 'Identities', 'Chat', 'Persons', 'Agents', 'Chat activity', 'Settings', 'Users', 'Audit log']);
    await nav.getByRole('link', { name: 'Users' }).click();
    await hydrated(page);
    for (const [who, role] of [[OPERATOR, 'operator'], [STAFF, 'staff']] as const) {
      await page.getByRole('button', { name: 'New user' }).click();
      const dialog = page.getByRole('dialog', { name: 'New user' });
      await dialog.getByLabel('Username').fill(who.username);
      await dialog.getByLabel('Password').fill(who.password);
      await dialog.getByLabel('Role').selectOption(role);
      await dialog.getByRole('button', { name: 'Create user' }).click();
      await expect(page.getByRole('status').getByText(`Created ${who.username}`)).toBeVisible();
      await expect(page.getByRole('cell', { name: who.username, exact: true })).toBeVisible();
    }
    await screenshot(page, 'users');
    // Deleting yourself is not offered.
    const myRow = page.getByRole('row').filter({ hasText: 'you' });
    await expect(myRow.getByRole('button', { name: 'Delete' })).toBeDisabled();
    await signOut(page);
    expect(errors).toEqual([]);
  });

  test('the operator sees exactly the operator navigation', async ({ page }) => {
    await signIn(page, OPERATOR);
    const nav = page.getByRole('navigation', { name: 'Main' });
    await expect(nav.getByRole('link')).toHaveText(['Overview', 'Identities', 'Chat', 'Persons', 'Agents', 'Chat activity', 'Settings']);
    await page.goto('/users');
    await expect(page.getByRole('heading', { name: 'Not allowed' })).toBeVisible();
    await signOut(page);
  });

  test('sign out works before the page has hydrated (a slow link, a lazy screen)', async ({ page }) => {
    await signIn(page, OPERATOR);
    // From here no wasm arrives: the page stays as the server rendered it.
    await page.route('**/pkg/*.wasm', (route) => route.abort());
    await page.goto('/persons');
    await expect(page.getByRole('heading', { name: 'Persons', level: 1 })).toBeVisible();
    await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(0);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page).toHaveURL(/\/login$/);
    await page.unroute('**/pkg/*.wasm');
    await page.goto('/persons');
    await expect(page).toHaveURL(/\/login\?next=/);
  });

  test('the operator connects the dashboard to Letta', async ({ page }) => {
    const errors = watchConsole(page);
    // Every built asset the browser loads (hashed names, the lazy screens' wasm chunk).
    const assets = new Set<string>();
    page.on('response', (r) => {
      const path = new URL(r.url()).pathname;
      if (path.startsWith('/pkg/')) assets.add(path);
    });
    await signIn(page, OPERATOR);
    await expect(page.getByTestId('connection-badge')).toHaveText('Letta: not configured');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await hydrated(page);
    await page.getByLabel('Server URL').fill(LETTA_URL);
    await page.getByLabel('Password', { exact: true }).fill('definitely-wrong');
    await page.getByRole('button', { name: 'Test connection' }).click();
    await expect(page.getByTestId('connection-result')).toHaveText('Wrong password: the Letta server refused it.');

    await page.getByLabel('Password', { exact: true }).fill(LETTA_PASSWORD);
    await page.getByRole('button', { name: 'Test connection' }).click();
    await expect(page.getByTestId('connection-result')).toContainText('Connected: Letta 0.16.8');
    await screenshot(page, 'settings-connected');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByRole('status').getByText('Settings saved')).toBeVisible();
    await expect(page.getByTestId('connection-badge')).toHaveText('Letta 0.16.8');

    await page.reload();
    await hydrated(page);
    await expect(page.getByLabel('Password', { exact: true })).toHaveValue('');
    await expect(page.getByTestId('password-state')).toHaveText('set');
    await expect(page.getByLabel('Server URL')).toHaveValue(LETTA_URL);
    const source = await (await page.request.get('/settings')).text();
    expect(source).not.toContain(LETTA_PASSWORD);
    expect(await page.content()).not.toContain(LETTA_PASSWORD);
    const kinds = [...assets].map((a) => a.split('.').pop());
    for (const kind of ['js', 'wasm', 'css']) expect(kinds).toContain(kind);
    expect([...assets].some((a) => a.includes('split_lazy_screen'))).toBe(true);
    for (const asset of assets) {
      const body = (await (await page.request.get(asset)).body()).toString('latin1');
      expect(body.length).toBeGreaterThan(100);
      expect(body).not.toContain(LETTA_PASSWORD);
    }
    await signOut(page);
    expect(errors).toEqual([]);
  });

  test('staff cannot open the settings page, and its server functions answer 403', async ({ page }) => {
    await signIn(page, STAFF);
    const nav = page.getByRole('navigation', { name: 'Main' });
    await expect(nav.getByRole('link')).toHaveText(['Overview', 'Chat', 'Persons', 'Agents']);
    await page.goto('/settings');
    await expect(page.getByRole('heading', { name: 'Not allowed' })).toBeVisible();
    const res = await page.request.post('/api/operator/settings/get', { headers: { accept: 'application/json' } });
    expect(res.status()).toBe(403);
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, 'phone-staff');
    await signOut(page);
  });
});
