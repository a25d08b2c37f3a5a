import { expect, test } from '@playwright/test';
import { ADMIN, OPERATOR, STAFF, hydrated, screenshot, signIn, signOut, watchConsole } from './helpers';

// Runs after dashboard.spec.ts (files in name order): the users exist and the dashboard is
// connected to the real Letta server.
test('the Overview shows each role its cards', async ({ page }) => {
  test.setTimeout(90_000);
  const errors = watchConsole(page);

  for (const [who, name] of [[ADMIN, 'admin'], [OPERATOR, 'operator'], [STAFF, 'staff']] as const) {
    await signIn(page, who);
    await expect(page.getByRole('heading', { name: 'Overview', level: 1 })).toBeVisible();
    await hydrated(page);
    const letta = page.getByRole('region', { name: 'Letta server' });
    await expect(letta.getByText('Connected')).toBeVisible();
    await expect(letta.getByText(/Letta 0\.16\.8 · \d+ ms/)).toBeVisible();
    await expect(letta.getByRole('link', { name: /agents/ })).toBeVisible();
    const persons = page.getByRole('region', { name: 'Persons' });
    await expect(persons.getByText('with problems')).toBeVisible();
    const chat = page.getByRole('region', { name: 'Chat right now' });
    await expect(chat.getByRole('heading', { name: 'Your recent chats' })).toBeVisible();
    const audit = page.getByRole('region', { name: 'Recent activity' });
    if (who === STAFF) {
      await expect(audit).toHaveCount(0);
      await expect(persons.getByRole('button', { name: 'Verify all' })).toHaveCount(0);
      await expect(chat.getByText('stuck detaches')).toHaveCount(0);
      await expect(letta.getByText('identities')).toHaveCount(0);
    } else {
      await expect(audit.getByRole('listitem').first()).toBeVisible();
      await expect(persons.getByRole('button', { name: 'Verify all' })).toBeVisible();
      await expect(chat.getByText('stuck detaches')).toBeVisible();
      await expect(chat.getByRole('img', { name: /turns, \d+ failed, per hour/ })).toBeVisible();
      await expect(letta.getByRole('link', { name: /identities/ })).toBeVisible();
      // Admins follow an audit entry to the log, filtered by it.
      if (who === ADMIN) {
        await expect(audit.getByRole('link', { name: 'The whole audit log' })).toBeVisible();
        await audit.getByRole('listitem').first().getByRole('link').click();
        await expect(page).toHaveURL(/\/audit\?actor=.*&action=/);
        await page.goBack();
        await hydrated(page);
      } else {
        await expect(audit.getByRole('link')).toHaveCount(0);
      }
    }
    await screenshot(page, `overview-${name}`);
    if (who === OPERATOR) {
      // Verify all starts the persons job from here; the Persons page shows its progress.
      await persons.getByRole('button', { name: 'Verify all' }).click();
      await expect(page.getByRole('status').getByText(/^Verifying \d+ persons/)).toBeVisible();
      // Keyboard: the cards' links are reachable with Tab.
      await page.keyboard.press('Tab');
      await page.setViewportSize({ width: 390, height: 844 });
      await page.emulateMedia({ colorScheme: 'dark' });
      await screenshot(page, 'overview-operator-phone-dark');
      await page.emulateMedia({ colorScheme: 'light' });
      await page.setViewportSize({ width: 1280, height: 800 });
    }
    await signOut(page);
  }
  expect(errors).toEqual([]);
});
