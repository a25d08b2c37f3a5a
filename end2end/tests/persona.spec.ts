import { expect, test } from '@playwright/test';
import { OPERATOR, hydrated, screenshot, signIn, watchConsole } from './helpers';

// Runs after dashboard.spec.ts (one worker, files in name order): the operator exists and the
// dashboard is connected to the real Letta server.
const LETTA_URL = process.env.E2E_LETTA_URL!;
const LETTA_AUTH = { Authorization: `Bearer ${process.env.E2E_LETTA_PASSWORD}` };
const username = `pe_${Date.now().toString(36)}`;

test('edit, conflict and restore of a persona block', async ({ page }) => {
  const errors = watchConsole(page);
  await signIn(page, OPERATOR);
  await page.goto('/persons');
  await hydrated(page);
  await page.getByRole('button', { name: 'New person' }).click();
  const dialog = page.getByRole('dialog', { name: 'New person' });
  await dialog.getByLabel('Username').fill(username);
  await dialog.getByLabel('Display name').fill('Edith');
  await dialog.getByRole('button', { name: 'Create person' }).click();
  await expect(page.getByRole('status').getByText(`Created ${username}`)).toBeVisible();
  await page.goto(`/persons?q=${username}`);
  await page.getByRole('link', { name: username }).click();
  // The person screen is a lazy route: the URL changes once its wasm chunk is in.
  await page.waitForURL(/\/persons\/\d+$/);
  await hydrated(page);
  const personUrl = page.url();
  const blockId = (await page.getByTestId('block-id').textContent())!.trim();
  expect(blockId).toMatch(/^block-/);

  // Structured form: add a preference, save, reload, see it.
  await page.getByRole('link', { name: 'Open the persona editor' }).click();
  await hydrated(page);
  await expect(page.getByLabel('Name', { exact: true })).toHaveValue('Edith');
  await page.getByRole('button', { name: 'Add preference' }).click();
  await page.getByLabel('Preference').fill('tea');
  await page.getByLabel('Value of tea').fill('green');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByRole('status').getByText('Saved')).toBeVisible();
  await page.reload();
  await hydrated(page);
  await expect(page.getByLabel('Preference')).toHaveValue('tea');
  await expect(page.getByLabel('Value of tea')).toHaveValue('green');
  await expect(page.getByText(/ \/ 5000 characters/)).toBeVisible();
  await screenshot(page, 'persona-form');

  // The agent rewrites the block behind the editor's back: the save shows the conflict.
  const patched = await page.request.patch(`${LETTA_URL}/v1/blocks/${blockId}`, {
    headers: LETTA_AUTH, data: { value: 'Edith now prefers coffee.' },
  });
  expect(patched.ok()).toBeTruthy();
  await page.getByLabel('Value of tea').fill('black');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  const conflict = page.getByRole('alertdialog', { name: 'The block changed while you edited it' });
  await expect(conflict).toBeVisible();
  await expect(page.getByTestId('conflict-diff')).toContainText('Edith now prefers coffee.');
  await expect(page.getByTestId('conflict-diff')).toContainText('black');
  await screenshot(page, 'persona-conflict');
  const stillServer = await (await page.request.get(`${LETTA_URL}/v1/blocks/${blockId}`, { headers: LETTA_AUTH })).json();
  expect(stillServer.value).toBe('Edith now prefers coffee.');
  await conflict.getByRole('button', { name: "Take the server's" }).click();
  await expect(page.getByTestId('raw-reason')).toContainText('not JSON');
  await expect(page.getByLabel('Block value')).toHaveValue('Edith now prefers coffee.');

  // Restore the version with green tea from the history.
  const history = page.getByRole('complementary', { name: 'History' });
  const editorVersion = history.getByRole('listitem').filter({ hasText: 'editor' }).first();
  await editorVersion.getByRole('button', { name: 'Diff with current' }).click();
  await expect(editorVersion).toContainText('green');
  await editorVersion.getByRole('button', { name: 'Restore' }).click();
  await page.getByRole('dialog', { name: 'Restore this version?' }).getByRole('button', { name: 'Restore' }).click();
  await expect(page.getByRole('status').getByText('Restored')).toBeVisible();
  const restored = await (await page.request.get(`${LETTA_URL}/v1/blocks/${blockId}`, { headers: LETTA_AUTH })).json();
  expect(restored.value).toContain('"tea": "green"');
  await expect(page.getByLabel('Value of tea')).toHaveValue('green');
  expect(errors).toEqual([]);

  // Clean up the person and its Letta objects.
  const id = personUrl.split('/').pop()!;
  const del = await page.request.post('/api/operator/persons/delete', { form: { id, keep_in_letta: 'false' } });
  expect(del.status(), await del.text()).toBe(200);
});
