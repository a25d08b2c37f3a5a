import { expect, test } from '@playwright/test';
import { OPERATOR, STAFF, hydrated, screenshot, signIn, signOut, watchConsole } from './helpers';

// Runs after dashboard.spec.ts (one worker, files in name order): the operator and the staff
// user exist and the dashboard is connected to the real Letta server (with the fake LLM, which
// echoes, and streams "[slow]" messages word by word).
const LETTA_URL = process.env.E2E_LETTA_URL!;
const LETTA_AUTH = { Authorization: `Bearer ${process.env.E2E_LETTA_PASSWORD}` };
const username = `ch_${Date.now().toString(36)}`;
const agentName = `e2e-chat-${Date.now().toString(36)}`;

test('staff chat as a person: streamed reply, sender label, stop', async ({ page }) => {
  test.setTimeout(120_000);
  const errors = watchConsole(page);
  const created = await page.request.post(`${LETTA_URL}/v1/agents/`, {
    headers: LETTA_AUTH,
    data: { name: agentName, model: 'openai-proxy/fake-model', embedding: 'openai/text-embedding-3-small' },
  });
  expect(created.ok()).toBeTruthy();
  const agentId = (await created.json()).id as string;

  // An operator creates the person.
  await signIn(page, OPERATOR);
  await page.goto('/persons');
  await hydrated(page);
  await page.getByRole('button', { name: 'New person' }).click();
  const dialog = page.getByRole('dialog', { name: 'New person' });
  await dialog.getByLabel('Username').fill(username);
  await dialog.getByLabel('Display name').fill('Chatty Cathy');
  await dialog.getByRole('button', { name: 'Create person' }).click();
  await expect(page.getByRole('status').getByText(`Created ${username}`)).toBeVisible();
  await signOut(page);

  // Staff picks the agent and the person (both kept in the URL).
  await signIn(page, STAFF);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Chat' }).click();
  await hydrated(page);
  await page.getByLabel('Agent', { exact: true }).fill(agentName);
  await page.getByLabel('Pick an agent', { exact: true }).selectOption(agentId);
  await page.getByLabel('Person', { exact: true }).fill(username);
  await page.getByLabel('Pick a person', { exact: true }).selectOption({ label: `Chatty Cathy (@${username})` });
  await expect(page).toHaveURL(new RegExp(`agent=${agentId}.*person=\\d+`));
  await expect(page.getByText('No messages yet.')).toBeVisible();

  // Enter sends; Shift+Enter is a new line.
  const input = page.getByLabel(`Message as Chatty Cathy (@${username})`);
  await input.fill('hello from the browser');
  await input.press('Shift+Enter');
  await expect(input).toHaveValue('hello from the browser\n');
  await input.fill('hello from the browser');
  await input.press('Enter');
  const turn = page.getByTestId('live-turn').last();
  await expect(turn.getByTestId('reply')).toContainText('Echo from fake LLM: hello from the browser');
  await expect(turn.getByTestId('sender')).toContainText(`@${username}`);
  await expect(turn.getByTestId('turn-foot')).toContainText(/tokens .* s · end turn/);
  await screenshot(page, 'chat');

  // Nothing stays attached; after a reload the history names the sender.
  const blocks = await (await page.request.get(`${LETTA_URL}/v1/agents/${agentId}/core-memory/blocks`, { headers: LETTA_AUTH })).json();
  expect(blocks.filter((b: { label: string }) => b.label.startsWith('Persona_'))).toEqual([]);
  await page.reload();
  await hydrated(page);
  const log = page.getByRole('log', { name: 'Messages' });
  await expect(log.getByText('hello from the browser', { exact: true })).toBeVisible();
  await expect(log.getByTestId('sender').first()).toContainText(`Chatty Cathy (@${username})`);

  // Stop during a slow reply: the run is cancelled and the block detached.
  await input.fill('[slow] a long answer please');
  await input.press('Enter');
  const slow = page.getByTestId('live-turn').last();
  await expect(slow.getByTestId('reply')).toContainText('Echo from fake LLM');
  const during = await (await page.request.get(`${LETTA_URL}/v1/agents/${agentId}/core-memory/blocks`, { headers: LETTA_AUTH })).json();
  expect(during.map((b: { label: string }) => b.label)).toContain(`Persona_${username}`);
  await screenshot(page, 'chat-streaming');
  await slow.getByRole('button', { name: 'Stop' }).click();
  await expect(slow.getByTestId('turn-foot')).toContainText('cancelled');
  await expect(slow.getByRole('button', { name: 'Stop' })).toHaveCount(0);
  const after = await (await page.request.get(`${LETTA_URL}/v1/agents/${agentId}/core-memory/blocks`, { headers: LETTA_AUTH })).json();
  expect(after.filter((b: { label: string }) => b.label.startsWith('Persona_'))).toEqual([]);

  // A long task in the background: the run is listed with its progress and reply, and the
  // list is still there after a reload.
  await page.getByLabel(/Send in the background/).check();
  await input.fill('background task please');
  await input.press('Enter');
  const runs = page.getByRole('region', { name: 'Background runs' });
  const run = runs.getByTestId('run').first();
  await expect(run).toContainText('background task please');
  await expect(run.locator('.badge')).toHaveText('completed', { timeout: 30_000 });
  await expect(run).toContainText('Echo from fake LLM: background task please');
  await page.reload();
  await hydrated(page);
  await expect(page.getByRole('region', { name: 'Background runs' }).getByTestId('run').first()).toContainText('completed');
  const afterRun = await (await page.request.get(`${LETTA_URL}/v1/agents/${agentId}/core-memory/blocks`, { headers: LETTA_AUTH })).json();
  expect(afterRun.filter((b: { label: string }) => b.label.startsWith('Persona_'))).toEqual([]);
  await screenshot(page, 'chat-background');
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, 'chat-phone');

  await page.request.delete(`${LETTA_URL}/v1/agents/${agentId}`, { headers: LETTA_AUTH });
  expect(errors).toEqual([]);
});
