import { expect, test } from '@playwright/test';
import { OPERATOR, hydrated, screenshot, signIn, watchConsole } from './helpers';

// Runs after dashboard.spec.ts (one worker, files in name order): the operator exists and the
// dashboard is connected to the real Letta server (fake LLM, real embeddings of the peer).
const name = `Memory test ${Date.now().toString(36)}`;
const tag = `e2e${Date.now().toString(36)}`;
const fact = `The customer prefers green tea in the afternoon ${tag}`;

test('create an agent, read its context window, add, find and delete a passage', async ({ page }) => {
  test.setTimeout(120_000);
  const errors = watchConsole(page);
  await signIn(page, OPERATOR);
  await page.goto('/agents');
  await hydrated(page);

  // Create, with a starting memory block; a bad name is refused beside its field first.
  await page.getByRole('button', { name: 'New agent' }).click();
  const dialog = page.getByRole('dialog', { name: 'New agent' });
  await dialog.getByLabel('Name', { exact: true }).fill('bad/name');
  await dialog.getByRole('button', { name: 'Create agent' }).click();
  await expect(dialog.getByText('“/” is not allowed')).toBeVisible();
  await dialog.getByLabel('Name', { exact: true }).fill(name);
  await expect(dialog.getByLabel('Model', { exact: true })).toContainText('openai-proxy/fake-model');
  await dialog.getByLabel('Model', { exact: true }).selectOption('openai-proxy/fake-model');
  await dialog.getByLabel('Embedding model').selectOption('openai/text-embedding-3-small');
  await dialog.getByLabel('Tags').fill('e2e, memory');
  await dialog.getByRole('button', { name: 'Add a block' }).click();
  await dialog.getByLabel('Value', { exact: true }).fill('The human is an e2e test.');
  await screenshot(page, 'agents-new');
  await dialog.getByRole('button', { name: 'Create agent' }).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible({ timeout: 30_000 });
  await hydrated(page);

  // The context window chart with its numbers.
  await expect(page.getByTestId('context-chart')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('context-summary')).toContainText(/tokens in use/);
  await expect(page.getByTestId('ctx-row-system')).toBeVisible();
  await expect(page.getByTestId('ctx-row-tools')).toBeVisible();
  // The core memory block with its usage.
  await expect(page.getByTestId('block-human')).toContainText('/ 5000 characters');

  // Add a passage with a tag.
  const add = page.getByRole('form', { name: 'Add a passage' });
  await add.getByLabel('Text').fill(fact);
  await add.getByLabel('Tags').fill(tag);
  await add.getByRole('button', { name: 'Add passage' }).click();
  await expect(page.getByRole('status').getByText('Passage added')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('passages')).toContainText(fact);

  // Find it by meaning, restricted to its tag.
  const search = page.getByRole('search', { name: 'Semantic search' });
  await search.getByLabel('Query').fill('What does the customer like to drink?');
  await search.getByLabel('Tags').fill(tag);
  await search.getByRole('button', { name: 'Search' }).click();
  const hit = page.getByTestId('search-hit').filter({ hasText: fact });
  await expect(hit).toBeVisible({ timeout: 30_000 });
  await expect(hit).toContainText(tag);
  await screenshot(page, 'agent-page');

  // Delete it, behind a confirm.
  const passage = page.getByTestId('passage').filter({ hasText: fact });
  await passage.getByRole('button', { name: /^Delete passage/ }).click();
  const confirm = page.getByRole('dialog', { name: 'Delete this passage?' }).first();
  await expect(confirm).toBeVisible();
  await confirm.getByRole('button', { name: 'Delete passage' }).click();
  await expect(page.getByRole('status').getByText('Passage deleted')).toBeVisible();
  await expect(page.getByTestId('passages')).toHaveCount(0);
  await expect(page.getByText('No passages yet.')).toBeVisible();

  // The agent goes too (the confirm says what goes with it).
  await page.getByRole('button', { name: 'Delete agent' }).click();
  const del = page.getByRole('dialog', { name: `Delete ${name}?` });
  await expect(del).toContainText('archival memory');
  await expect(del).toContainText('stay');
  await del.getByRole('button', { name: 'Delete agent' }).click();
  await expect(page).toHaveURL(/\/agents$/);
  await expect(page.getByRole('link', { name })).toHaveCount(0);
  expect(errors).toEqual([]);
});
