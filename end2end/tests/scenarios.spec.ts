import { expect, test } from '@playwright/test';
import { OPERATOR, STAFF, hydrated, screenshot, signIn, signOut, watchConsole } from './helpers';

// Runs after dashboard.spec.ts (one worker, files in name order): the operator and the staff
// user exist and the dashboard is connected to the real Letta server (with the fake LLM, which
// echoes).
const LETTA_URL = process.env.E2E_LETTA_URL!;
const LETTA_AUTH = { Authorization: `Bearer ${process.env.E2E_LETTA_PASSWORD}` };
const stamp = Date.now().toString(36);
const [first, second] = [`sc1_${stamp}`, `sc2_${stamp}`];
const agentName = `e2e-scenario-${stamp}`;

test('staff create a two-person scenario, run it twice and compare the runs', async ({ page }) => {
  test.setTimeout(180_000);
  const errors = watchConsole(page);
  const created = await page.request.post(`${LETTA_URL}/v1/agents/`, {
    headers: LETTA_AUTH,
    data: { name: agentName, model: 'openai-proxy/fake-model', embedding: 'openai/text-embedding-3-small' },
  });
  expect(created.ok()).toBeTruthy();
  const agentId = (await created.json()).id as string;

  // An operator creates the two persons.
  await signIn(page, OPERATOR);
  for (const [username, name] of [[first, 'Scenario Sue'], [second, 'Scenario Sam']]) {
    await page.goto('/persons');
    await hydrated(page);
    await page.getByRole('button', { name: 'New person' }).click();
    const dialog = page.getByRole('dialog', { name: 'New person' });
    await dialog.getByLabel('Username').fill(username);
    await dialog.getByLabel('Display name').fill(name);
    await dialog.getByRole('button', { name: 'Create person' }).click();
    await expect(page.getByRole('status').getByText(`Created ${username}`)).toBeVisible();
  }
  await signOut(page);

  // Staff reach the scenarios from the chat page and write one: two steps, two persons.
  await signIn(page, STAFF);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Chat' }).click();
  await hydrated(page);
  await page.getByRole('link', { name: 'Scenarios' }).click();
  await expect(page.getByRole('heading', { name: 'Chat scenarios' })).toBeVisible();
  await page.getByRole('link', { name: 'New scenario' }).click();
  await expect(page.getByRole('heading', { name: 'New scenario' })).toBeVisible();
  await hydrated(page);

  // Saving an empty form is refused beside its fields, in the browser.
  await page.getByRole('button', { name: 'Create scenario' }).click();
  await expect(page.getByText('Give the scenario a name.')).toBeVisible();

  await page.getByLabel('Name', { exact: true }).fill(`Greeting ${stamp}`);
  await page.getByLabel('Find persons for the pickers').fill('sc');
  const steps = page.getByTestId('step-row');
  await expect(steps).toHaveCount(1);
  await steps.nth(0).getByLabel('Person', { exact: true }).selectOption({ label: `Scenario Sue (@${first})` });
  await steps.nth(0).getByLabel('Message', { exact: true }).fill('hello from the scenario');
  await steps.nth(0).getByRole('button', { name: 'Add expectation' }).click();
  await steps.nth(0).getByLabel('Expected text').fill('hello from the scenario');
  await page.getByRole('button', { name: 'Add step' }).click();
  await expect(steps).toHaveCount(2);
  await steps.nth(1).getByLabel('Person', { exact: true }).selectOption({ label: `Scenario Sam (@${second})` });
  await steps.nth(1).getByLabel('Message', { exact: true }).fill('the second step');
  await steps.nth(1).getByRole('button', { name: 'Add expectation' }).click();
  await steps.nth(1).getByLabel('Expectation', { exact: true }).selectOption('reply_lacks');
  await steps.nth(1).getByLabel('Expected text').fill('hello');
  await page.getByRole('button', { name: 'Create scenario' }).click();
  await expect(page).toHaveURL(/\/chat\/scenarios\/\d+$/);
  await expect(page.getByRole('heading', { name: `Greeting ${stamp}` })).toBeVisible();
  await hydrated(page);

  // Run it on the agent picked now: both steps pass.
  await page.getByLabel('Search agents', { exact: true }).fill(agentName);
  await page.getByLabel('Agent to run on').selectOption(agentId);
  await page.getByRole('button', { name: 'Run scenario' }).click();
  const detail = page.getByTestId('run-detail');
  await expect(detail.getByTestId('run-detail-status')).toHaveText('passed', { timeout: 60_000 });
  await expect(detail.getByTestId('run-step')).toHaveCount(2);
  await expect(detail.getByTestId('step-reply').nth(0)).toContainText('Echo from fake LLM: hello from the scenario');
  await expect(detail.getByTestId('check').nth(0)).toContainText('✓');
  await expect(detail.getByTestId('check').nth(1)).toContainText('Reply does not contain: hello');
  const blocks = await (await page.request.get(`${LETTA_URL}/v1/agents/${agentId}/core-memory/blocks`, { headers: LETTA_AUTH })).json();
  expect(blocks.filter((b: { label: string }) => b.label.startsWith('Persona_'))).toEqual([]);

  // Change the second message, run again, compare: one step replied differently.
  const editor = page.getByRole('form', { name: 'Scenario' });
  await editor.getByTestId('step-row').nth(1).getByLabel('Message', { exact: true }).fill('the second step, changed');
  await editor.getByRole('button', { name: 'Save scenario' }).click();
  await expect(page.getByRole('status').getByText(`Saved the scenario Greeting ${stamp}`)).toBeVisible();
  await page.getByRole('button', { name: 'Run scenario' }).click();
  await expect(page.getByTestId('scenario-run')).toHaveCount(2);
  await expect(page.getByTestId('scenario-run').first().getByTestId('run-status')).toHaveText('passed', { timeout: 60_000 });
  const runLabels = await page.getByTestId('scenario-run').getByRole('button').allTextContents();
  const [newer, older] = runLabels.map((t) => t.replace('Run #', '').trim());
  await page.getByLabel('Left run').selectOption(older);
  await page.getByLabel('Right run').selectOption(newer);
  await page.getByRole('button', { name: 'Compare' }).click();
  await expect(page.getByTestId('compare-summary')).toContainText('1 of 2 steps replied differently');
  const changed = page.getByTestId('compare-step').nth(1);
  await expect(changed.locator('.d.removed')).toContainText('the second step');
  await expect(changed.locator('.d.added')).toContainText('the second step, changed');
  await screenshot(page, 'scenario-compare');
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, 'scenario-phone');
  await page.setViewportSize({ width: 1280, height: 720 });

  // The list shows it with its last run.
  await page.goto('/chat/scenarios');
  await hydrated(page);
  await page.getByLabel('Name contains').fill(stamp);
  const row = page.getByTestId('scenario-row');
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('passed');
  await screenshot(page, 'scenarios');

  await page.request.delete(`${LETTA_URL}/v1/agents/${agentId}`, { headers: LETTA_AUTH });
  expect(errors).toEqual([]);
});
