import { expect, test } from '@playwright/test';
import { execFileSync } from 'child_process';
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

/** Runs SQL on the dashboard's SQLite file (the server keeps running: WAL, busy timeout). */
function sql(statement: string, params: (string | number)[] = []): unknown[][] {
  const script = 'import json,sqlite3,sys\n'
    + 'db=sqlite3.connect(sys.argv[1],timeout=10)\n'
    + 'rows=db.execute(sys.argv[2],json.loads(sys.argv[3])).fetchall()\n'
    + 'db.commit()\nprint(json.dumps(rows))\n';
  const db = `${process.env.E2E_DATA_DIR}/letta-admin.db`;
  const out = execFileSync('python3', ['-c', script, db, statement, JSON.stringify(params)]);
  return JSON.parse(out.toString());
}

test('chat activity: a failed turn shows with its reason, and detach now clears a stuck block', async ({ page }) => {
  test.setTimeout(120_000);
  const errors = watchConsole(page);
  const who = `act_${Date.now().toString(36)}`;
  const newAgent = async (name: string) => {
    const res = await page.request.post(`${LETTA_URL}/v1/agents/`, {
      headers: LETTA_AUTH,
      data: { name, model: 'openai-proxy/fake-model', embedding: 'openai/text-embedding-3-small' },
    });
    expect(res.ok()).toBeTruthy();
    return (await res.json()).id as string;
  };
  const stuckAgent = await newAgent(`e2e-stuck-${who}`);
  const goneName = `e2e-gone-${who}`;
  const goneAgent = await newAgent(goneName);

  await signIn(page, OPERATOR);
  await page.goto('/persons');
  await hydrated(page);
  await page.getByRole('button', { name: 'New person' }).click();
  const dialog = page.getByRole('dialog', { name: 'New person' });
  await dialog.getByLabel('Username').fill(who);
  await dialog.getByLabel('Display name').fill('Audited Ann');
  await dialog.getByRole('button', { name: 'Create person' }).click();
  await expect(page.getByRole('status').getByText(`Created ${who}`)).toBeVisible();
  await signOut(page);

  // Staff picks an agent that is deleted before the message goes out: the turn fails.
  await signIn(page, STAFF);
  await page.goto(`/chat`);
  await hydrated(page);
  await page.getByLabel('Agent', { exact: true }).fill(goneName);
  await page.getByLabel('Pick an agent', { exact: true }).selectOption(goneAgent);
  await page.getByLabel('Person', { exact: true }).fill(who);
  await page.getByLabel('Pick a person', { exact: true }).selectOption({ label: `Audited Ann (@${who})` });
  await expect(page.getByText('No messages yet.')).toBeVisible();
  await page.request.delete(`${LETTA_URL}/v1/agents/${goneAgent}`, { headers: LETTA_AUTH });
  const input = page.getByLabel(`Message as Audited Ann (@${who})`);
  await input.fill('are you there?');
  await input.press('Enter');
  await expect(page.getByText('That agent no longer exists on the Letta server.').first()).toBeVisible();
  await signOut(page);

  // A block a crashed turn left behind: attached on the server, still in the journal.
  const [[personId, blockId]] = sql('SELECT id, block_id FROM persons WHERE username = ?', [who]) as [number, string][];
  const attach = await page.request.patch(
    `${LETTA_URL}/v1/agents/${stuckAgent}/core-memory/blocks/attach/${blockId}`, { headers: LETTA_AUTH });
  expect(attach.ok()).toBeTruthy();
  sql('INSERT INTO chat_attachments (turn_id, agent_id, block_id, person_id, started_at) VALUES (?, ?, ?, ?, ?)',
    [`e2e-stuck-${who}`, stuckAgent, blockId, personId, Date.now()]);

  await signIn(page, OPERATOR);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Chat activity' }).click();
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Chat activity' })).toBeVisible();
  const failed = page.locator('table.ledger tbody tr', { hasText: who }).first();
  await expect(failed).toContainText('Failed');
  await expect(failed).toContainText('That agent no longer exists on the Letta server.');
  await expect(failed).toContainText('sam');
  await expect(page.getByRole('img', { name: /turns, \d+ failed, per day/ })).toBeVisible();

  // The filter narrows the list to this person's failed turns, in the URL.
  await page.getByLabel('Person', { exact: true }).selectOption({ label: who });
  await page.getByLabel('Outcome', { exact: true }).selectOption('failed');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/person=\d+.*outcome=failed/);
  await expect(page.locator('table.ledger tbody tr')).toHaveCount(1);
  await screenshot(page, 'activity');

  // Detach now: asks first, then the block is off the agent and out of the journal.
  const stuck = page.getByRole('row', { name: new RegExp(who) }).filter({ hasText: 'Stuck' });
  await expect(stuck).toBeVisible();
  await page.getByRole('button', { name: `Detach the persona block of ${who} from ${stuckAgent}` }).click();
  const confirm = page.getByRole('dialog', { name: 'Detach this persona block now?' });
  await confirm.getByRole('button', { name: 'Detach', exact: true }).click();
  await expect(page.getByRole('status').getByText('The block is detached.')).toBeVisible();
  await expect(page.getByText('No persona block is attached by the chat right now.')).toBeVisible();
  const left = await (await page.request.get(`${LETTA_URL}/v1/agents/${stuckAgent}/core-memory/blocks`, { headers: LETTA_AUTH })).json();
  expect(left.filter((b: { label: string }) => b.label.startsWith('Persona_'))).toEqual([]);
  expect(sql('SELECT COUNT(*) FROM chat_attachments')).toEqual([[0]]);

  await page.request.delete(`${LETTA_URL}/v1/agents/${stuckAgent}`, { headers: LETTA_AUTH });
  expect(errors).toEqual([]);
});
