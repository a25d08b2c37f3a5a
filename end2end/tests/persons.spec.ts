import { expect, test } from '@playwright/test';
import { OPERATOR, STAFF, hydrated, screenshot, signIn, signOut, watchConsole } from './helpers';

// Runs after dashboard.spec.ts (one worker, files in name order): the operator and staff
// accounts exist and the dashboard is connected to the real Letta server by then.
const username = `e2e_${Date.now().toString(36)}`;

test.describe.serial('persons', () => {
  test('an operator creates a person, finds it, sees its health, deletes it', async ({ page }) => {
    const errors = watchConsole(page);
    await signIn(page, OPERATOR);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Persons' }).click();
    await hydrated(page);
    await page.getByRole('button', { name: 'New person' }).click();
    const dialog = page.getByRole('dialog', { name: 'New person' });
    await dialog.getByLabel('Username').fill(username);
    await dialog.getByLabel('Display name').fill('Ada Lovelace');
    await dialog.getByRole('button', { name: 'Create person' }).click();
    await expect(page.getByRole('status').getByText(`Created ${username}`)).toBeVisible();

    await page.getByLabel('Search').fill(username);
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect(page).toHaveURL(new RegExp(`q=${username}`));
    const row = page.getByRole('row').filter({ hasText: username });
    await expect(row).toHaveCount(1);
    await expect(row.getByText('healthy')).toBeVisible();
    await screenshot(page, 'persons');

    await row.getByRole('link', { name: username }).click();
    await hydrated(page);
    await expect(page.getByRole('heading', { name: /Ada Lovelace/ })).toBeVisible();
    await page.getByRole('button', { name: 'Verify against Letta' }).click();
    await expect(page.getByRole('status').getByText('Checked: healthy')).toBeVisible();
    await screenshot(page, 'person');

    await page.getByRole('button', { name: 'Delete person' }).click();
    const confirm = page.getByRole('dialog', { name: `Delete ${username}?` });
    await expect(confirm).toContainText('deleted in Letta');
    await confirm.getByRole('button', { name: 'Delete person' }).click();
    await expect(page).toHaveURL(/\/persons$/);
    await expect(page.getByRole('status').getByText('Person deleted')).toBeVisible();
    await signOut(page);
    expect(errors).toEqual([]);
  });

  test('staff can read the persons list but not create', async ({ page }) => {
    await signIn(page, STAFF);
    await page.goto('/persons');
    await hydrated(page);
    await expect(page.getByRole('heading', { name: 'Persons' })).toBeVisible();
    await expect(page.getByRole('button', { name: 'New person' })).toHaveCount(0);
    await signOut(page);
  });
});
