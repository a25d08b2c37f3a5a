import { APIRequestContext, expect, Page, test } from '@playwright/test';
import { OPERATOR, hydrated, screenshot, signIn, signOut, watchConsole } from './helpers';

// Runs after dashboard.spec.ts (files run in alphabetical order, one worker): that spec creates
// the operator account and saves the Letta settings this spec relies on.

const LETTA_URL = process.env.E2E_LETTA_URL!.replace(/\/$/, '');
const LETTA_AUTH = { Authorization: `Bearer ${process.env.E2E_LETTA_PASSWORD!}` };

// Unique per run: the Letta server outlives the dashboard's data directory.
const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const KEY = `e2e-${suffix}@example.org`;
const NAME = `E2E Person ${suffix}`;
const AGENT = `E2E Helper ${suffix}`;
let agentId = '';

/** Straight to Letta (arranging and cleaning up what the UI is not under test for). */
async function letta(request: APIRequestContext, method: 'get' | 'post' | 'delete', path: string, data?: object) {
  const res = await request[method](`${LETTA_URL}${path}`, { headers: LETTA_AUTH, data });
  expect(res.ok(), `${method} ${path}: ${res.status()}`).toBeTruthy();
  return res.status() === 204 ? null : res.json();
}

async function openIdentities(page: Page) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Identities' }).click();
  await expect(page.getByRole('heading', { name: 'Identities', level: 1 })).toBeVisible();
  await hydrated(page);
}

test.describe.serial('identities', () => {
  test.beforeAll(async ({ request }) => {
    const agent = await letta(request, 'post', '/v1/agents/', {
      name: AGENT, model: 'openai-proxy/fake-model', embedding: 'openai/text-embedding-3-small',
    });
    agentId = agent.id;
  });

  test.afterAll(async ({ request }) => {
    // Whatever a failed run left behind.
    const left = await letta(request, 'get', `/v1/identities/?identifier_key=${encodeURIComponent(KEY)}`);
    for (const i of left ?? []) await letta(request, 'delete', `/v1/identities/${i.id}`);
    if (agentId) await letta(request, 'delete', `/v1/agents/${agentId}`);
  });

  test('create an identity with two typed properties', async ({ page }) => {
    const errors = watchConsole(page);
    await signIn(page, OPERATOR);
    await openIdentities(page);
    await page.getByRole('button', { name: 'New identity' }).click();
    const dialog = page.getByRole('dialog', { name: 'New identity' });
    await dialog.getByLabel('Identifier key').fill(KEY);
    await dialog.getByLabel('Name', { exact: true }).fill(NAME);
    await dialog.getByLabel('Type', { exact: true }).first().selectOption('user');

    await dialog.getByRole('button', { name: 'Add property' }).click();
    const first = dialog.getByRole('group', { name: 'Property 1' });
    await expect(first.getByLabel('Key')).toBeFocused();
    await first.getByLabel('Key').fill('age');
    await first.getByLabel('Type').selectOption('number');
    await first.getByLabel('Value').fill('forty');
    await dialog.getByRole('button', { name: 'Add property' }).click();
    const second = dialog.getByRole('group', { name: 'Property 2' });
    await second.getByLabel('Key').fill('prefs');
    await second.getByLabel('Type').selectOption('json');
    await second.getByLabel('Value').fill('{lang: fr}');

    // Checked in the browser before anything is sent, each message beside its value.
    await dialog.getByRole('button', { name: 'Create identity' }).click();
    await expect(first.getByText('is not a number')).toBeVisible();
    await expect(second.getByText('This is not valid JSON')).toBeVisible();
    await expect(first.getByLabel('Value')).toBeFocused();
    await screenshot(page, 'identity-create-invalid');
    await first.getByLabel('Value').fill('36');
    await second.getByLabel('Value').fill('{"lang": "fr"}');
    await expect(first.getByText('is not a number')).toHaveCount(0);

    await dialog.getByRole('button', { name: 'Create identity' }).click();
    await expect(page.getByRole('status').getByText(`Created identity ${NAME} (${KEY})`)).toBeVisible();
    await expect(dialog).toBeHidden();
    await expect(page.getByRole('link', { name: NAME })).toBeVisible();

    // The same key again: the dashboard's message, never the server's.
    await page.getByRole('button', { name: 'New identity' }).click();
    await dialog.getByLabel('Identifier key').fill(KEY);
    await dialog.getByLabel('Name', { exact: true }).fill('Someone else');
    await dialog.getByRole('button', { name: 'Create identity' }).click();
    await expect(dialog.getByText(`An identity with key ${KEY} already exists.`)).toBeVisible();
    await expect(dialog).not.toContainText('SQL');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await signOut(page);
    // The refused duplicate is answered 422, which Chromium logs as a failed resource load.
    expect(errors.filter((e) => !e.includes('status of 422'))).toEqual([]);
  });

  test('filter by name; the filter lives in the URL', async ({ page }) => {
    const errors = watchConsole(page);
    await signIn(page, OPERATOR);
    await openIdentities(page);
    // Case-insensitive substring.
    await page.getByLabel('Name contains').fill(`person ${suffix}`.toUpperCase());
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect(page).toHaveURL(new RegExp(`name=PERSON(\\+|%20)${suffix.toUpperCase()}`));
    await expect(page.getByTestId('identity-count')).toContainText('1 matching');
    await expect(page.getByRole('link', { name: NAME })).toBeVisible();
    await expect(page.locator('tbody tr')).toHaveCount(1);
    await page.reload();
    await hydrated(page);
    await expect(page.getByLabel('Name contains')).toHaveValue(`PERSON ${suffix.toUpperCase()}`);
    await expect(page.locator('tbody tr')).toHaveCount(1);
    await screenshot(page, 'identities-list');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, 'identities-list-phone');
    await signOut(page);
    expect(errors).toEqual([]);
  });

  test('edit a property, remove one, link an agent', async ({ page }) => {
    const errors = watchConsole(page);
    await signIn(page, OPERATOR);
    await page.goto(`/identities?key=${encodeURIComponent(KEY)}`);
    await hydrated(page);
    await page.getByRole('link', { name: NAME }).click();
    await expect(page.getByRole('heading', { name: NAME, level: 1 })).toBeVisible();
    await expect(page.getByTestId('identity-key')).toHaveText(KEY);

    const props = page.getByRole('form', { name: 'Identity properties' });
    await expect(props.getByRole('group', { name: 'Property 1' }).getByLabel('Value')).toHaveValue('36');
    await expect(props.getByRole('group', { name: 'Property 2' }).getByLabel('Value')).toHaveValue('{"lang":"fr"}');
    await props.getByRole('group', { name: 'Property 1' }).getByLabel('Value').fill('37');
    await expect(props.getByText('Unsaved changes')).toBeVisible();
    await props.getByRole('button', { name: 'Save properties' }).click();
    await expect(page.getByRole('status').getByText('Properties saved (2 properties)')).toBeVisible();

    // Removing really removes (the server's merge would have kept it).
    await props.getByRole('button', { name: 'Remove property prefs' }).click();
    await props.getByRole('button', { name: 'Save properties' }).click();
    await expect(page.getByRole('status').getByText('Properties saved (1 property)')).toBeVisible();
    await page.reload();
    await hydrated(page);
    const reloaded = page.getByRole('form', { name: 'Identity properties' });
    // One property row left (the fieldset around them is a group too).
    await expect(reloaded.getByRole('group', { name: /^Property \d+$/ })).toHaveCount(1);
    await expect(reloaded.getByRole('group', { name: 'Property 1' }).getByLabel('Key')).toHaveValue('age');
    await expect(reloaded.getByRole('group', { name: 'Property 1' }).getByLabel('Value')).toHaveValue('37');

    // Link an agent found by a piece of its name.
    await page.getByRole('searchbox', { name: 'Find an agent to link' }).fill(`helper ${suffix}`);
    await page.getByRole('button', { name: 'Find agents' }).click();
    await page.getByRole('button', { name: `Link agent ${AGENT}` }).click();
    await expect(page.getByRole('status').getByText('Agent linked')).toBeVisible();
    const linked = page.getByRole('region', { name: 'Linked agents' });
    await expect(linked.getByRole('button', { name: `Unlink agent ${AGENT}` })).toBeVisible();
    await screenshot(page, 'identity-detail');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, 'identity-detail-phone');
    await signOut(page);
    expect(errors).toEqual([]);
  });

  test('delete behind a confirm dialog that names what is linked', async ({ page }) => {
    const errors = watchConsole(page);
    await signIn(page, OPERATOR);
    await page.goto(`/identities?key=${encodeURIComponent(KEY)}`);
    await hydrated(page);
    await page.getByRole('link', { name: NAME }).click();
    await expect(page.getByRole('heading', { name: NAME, level: 1 })).toBeVisible();

    await page.getByRole('button', { name: 'Delete identity' }).click();
    const confirm = page.getByRole('dialog', { name: `Delete ${NAME}?` });
    await expect(confirm).toContainText(`key ${KEY}`);
    await expect(confirm).toContainText(`linked to 1 agent (${AGENT})`);
    await screenshot(page, 'identity-delete-confirm');
    // Cancel keeps it.
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await expect(confirm).toBeHidden();
    await expect(page.getByRole('heading', { name: NAME, level: 1 })).toBeVisible();

    await page.getByRole('button', { name: 'Delete identity' }).click();
    await confirm.getByRole('button', { name: 'Delete identity' }).click();
    await expect(page.getByRole('status').getByText(`Deleted identity ${NAME}`)).toBeVisible();
    await expect(page).toHaveURL(/\/identities$/);

    await page.goto(`/identities?key=${encodeURIComponent(KEY)}`);
    await expect(page.getByText('No identities match these filters.')).toBeVisible();
    // The agent is still there, without the link.
    const agent = await letta(page.request, 'get', `/v1/agents/${agentId}`);
    expect(agent.identity_ids).toEqual([]);
    await signOut(page);
    expect(errors).toEqual([]);
  });
});
