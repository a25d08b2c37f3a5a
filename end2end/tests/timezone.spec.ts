import { expect, Locator, test } from '@playwright/test';
import { ADMIN, OPERATOR, STAFF, hydrated, screenshot, signIn, signOut, watchConsole } from './helpers';

// The browser is in New York: every time shows in its zone once the page has hydrated, the
// UTC value on hover. Runs after the other specs (files in name order): users, persons and
// an audit log exist.
const ZONE = 'America/New_York';
test.use({ timezoneId: ZONE });
const LETTA_URL = process.env.E2E_LETTA_URL!;
const LETTA_AUTH = { Authorization: `Bearer ${process.env.E2E_LETTA_PASSWORD}` };

/** What the dashboard should show for `iso` in New York, computed by the browser's own rules. */
function newYork(iso: string, seconds: boolean): string {
  const d = new Date(iso);
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
    timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(d).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  const offset = Math.round((asUtc - Math.floor(d.getTime() / 1000) * 1000) / 60000);
  const sign = offset < 0 ? '-' : '+';
  const h = Math.floor(Math.abs(offset) / 60), m = Math.abs(offset) % 60;
  const zone = offset === 0 ? 'UTC' : `UTC${sign}${h}${m ? ':' + String(m).padStart(2, '0') : ''}`;
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}${seconds ? ':' + p.second : ''} ${zone}`;
}

async function expectLocal(time: Locator, seconds: boolean, relative: boolean) {
  const iso = (await time.getAttribute('datetime'))!;
  const local = newYork(iso, seconds);
  expect(local).toMatch(/UTC-[45]$/);
  if (relative) {
    await expect(time).toHaveText(/ago|just now|yesterday/);
    // The title: the local time with seconds, then the UTC value.
    await expect(time).toHaveAttribute('title', `${newYork(iso, true)} · ${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`);
  } else {
    await expect(time).toHaveText(local);
    await expect(time).toHaveAttribute('title', new RegExp(`${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC$`));
  }
}

test('times show in the browser zone with UTC on hover', async ({ page }) => {
  test.setTimeout(90_000);
  const errors = watchConsole(page);

  // The audit log: relative times, the New York clock and UTC on hover.
  await signIn(page, ADMIN);
  await page.goto('/audit');
  await hydrated(page);
  await expectLocal(page.locator('tbody time').first(), true, true);
  await screenshot(page, 'audit-new-york');

  // A filter across the change to summer time (8 March in New York): each day with its own
  // offset, winter time for the first day and summer time after the last.
  await page.getByLabel('From').fill('2026-03-01');
  await page.getByLabel('To').fill('2026-03-20');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/[?&]from=2026-03-01&to=2026-03-20&tz=-300&tz_to=-240(&|$)/);
  await hydrated(page);
  await expect(page.getByText('No entries match.')).toBeVisible();

  // The browser told the server its zone: the Overview's charts cut New York's days.
  expect(await page.evaluate(() => document.cookie)).toMatch(/(^|; )tz=-(300|240)(;|$)/);
  await page.goto('/');
  await hydrated(page);
  const week = page.getByRole('img', { name: /per day \(UTC-[45]\)/ });
  await expect(week).toBeVisible();
  await signOut(page);

  // A person's page: the clock time in New York's zone.
  await signIn(page, OPERATOR);
  await page.goto('/persons');
  await hydrated(page);
  // The list's Created column: the New York day, the moment on hover.
  const day = page.locator('tbody tr').first().locator('time');
  const dayIso = (await day.getAttribute('datetime'))!;
  await expect(day).toHaveText(newYork(dayIso, false).slice(0, 10));
  await expect(day).toHaveAttribute('title', new RegExp(`UTC-[45] · ${dayIso.slice(0, 10)} ${dayIso.slice(11, 19)} UTC$`));
  await page.locator('tbody a').first().click();
  await hydrated(page);
  await expectLocal(page.locator('dt:has-text("Created") + dd time'), true, false);
  await signOut(page);

  // The chat: a message in an agent's history.
  const created = await page.request.post(`${LETTA_URL}/v1/agents/`, {
    headers: LETTA_AUTH,
    data: { name: `e2e-tz-${Date.now().toString(36)}`, model: 'openai-proxy/fake-model', embedding: 'openai/text-embedding-3-small' },
  });
  const agentId = (await created.json()).id as string;
  const sent = await page.request.post(`${LETTA_URL}/v1/agents/${agentId}/messages`, {
    headers: LETTA_AUTH, data: { messages: [{ role: 'user', content: 'what time is it?' }] },
  });
  expect(sent.ok()).toBeTruthy();
  await signIn(page, STAFF);
  await page.goto(`/chat?agent=${agentId}`);
  await hydrated(page);
  const log = page.getByRole('log', { name: 'Messages' });
  await expect(log.getByText('what time is it?', { exact: true })).toBeVisible();
  await expectLocal(log.locator('time').first(), true, true);
  await page.request.delete(`${LETTA_URL}/v1/agents/${agentId}`, { headers: LETTA_AUTH });
  expect(errors).toEqual([]);
});
