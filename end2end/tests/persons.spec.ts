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

  test('an operator imports persons from CSV and sees the report', async ({ page }) => {
    const errors = watchConsole(page);
    const imported = `${username}_csv`;
    await signIn(page, OPERATOR);
    await page.goto('/persons');
    await hydrated(page);
    await expect(page.getByRole('dialog', { name: 'Import persons' })).toBeHidden();
    await page.getByRole('button', { name: 'Import CSV' }).click();
    const dialog = page.getByRole('dialog', { name: 'Import persons' });
    await expect(dialog).toBeVisible();
    await dialog.getByLabel('CSV').fill(`username,display_name,notes\n${imported},Imported Person,from the e2e test\n`);
    await dialog.getByRole('button', { name: 'Import', exact: true }).click();
    const report = dialog.getByRole('table', { name: 'Import report' });
    await expect(report.getByRole('row').filter({ hasText: imported })).toContainText('created');
    await screenshot(page, 'persons-import');
    await page.keyboard.press('Escape');
    await expect(dialog).toBeHidden();

    await page.getByLabel('Search').fill(imported);
    await page.getByRole('button', { name: 'Apply' }).click();
    const row = page.getByRole('row').filter({ hasText: imported });
    await expect(row).toHaveCount(1);
    await row.getByRole('link', { name: imported }).click();
    await hydrated(page);
    await page.getByRole('button', { name: 'Delete person' }).click();
    await page.getByRole('dialog', { name: `Delete ${imported}?` }).getByRole('button', { name: 'Delete person' }).click();
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
