// TLS reports in a real browser: a sender POSTs a report with real-world quirks to a running
// `moat serve`; the owner finds it from the organization page, reads the failure details and
// the deviations Moat tolerated; a member of another organization cannot open it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { hydrated, launchBrowser, newPage, startMoat } from './helpers.mjs';

let moat;
let browser;

before(async () => {
  moat = await startMoat({ MOAT_ZONE: 'sts.moat.test' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await moat?.stop();
});

async function signUpWithOrg(email, org) {
  const page = await newPage(browser);
  await page.goto(`${moat.url}/signup`);
  await hydrated(page);
  await page.getByLabel('Work e-mail').fill(email);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/orgs');
  await hydrated(page);
  await page.getByLabel('Name').fill(org);
  await page.getByRole('button', { name: 'Create organization' }).click();
  await page.waitForURL(/\/orgs\/\d+$/);
  await hydrated(page);
  return page;
}

// Dates without a time zone and an end at the next midnight, as some senders write them.
const report = {
  'organization-name': 'Quirky Sender',
  'date-range': { 'start-datetime': '2026-11-26T00:00:00', 'end-datetime': '2026-11-27T00:00:00' },
  'contact-info': null,
  'report-id': 'browser-report-1',
  policies: [
    {
      policy: { 'policy-type': 'sts', 'policy-domain': 'example.com', 'mx-host': 'mx1.example.com' },
      summary: { 'total-successful-session-count': 120, 'total-failure-session-count': 4 },
      'failure-details': [
        {
          'result-type': 'certificate-expired',
          'sending-mta-ip': '192.0.2.7',
          'receiving-mx-hostname': 'mx1.example.com',
          'receiving-ip': '198.51.100.9',
          'failed-session-count': 4,
        },
      ],
    },
  ],
};

test('a posted report is readable in the browser, with its deviations, and only by its tenant', async () => {
  const alice = await signUpWithOrg('alice@example.com', 'Example Mail');
  await moat.cli(['domain', 'add', 'example.com', '--org', 'Example Mail', '--reporting-only']);
  const posted = await fetch(`${moat.url}/v1/tlsrpt`, {
    method: 'POST',
    headers: { 'content-type': 'application/tlsrpt+json' },
    body: JSON.stringify(report),
  });
  assert.equal(posted.status, 201, await posted.text());

  await alice.getByRole('link', { name: 'TLS reports' }).click();
  await alice.waitForURL(/\/reports$/);
  await hydrated(alice);
  const row = alice.locator('#reports tbody tr');
  await row.first().waitFor();
  assert.equal(await row.count(), 1);
  const cells = await row.first().locator('td').allInnerTexts();
  assert.deepEqual(cells.slice(0, 6), ['2026-11-26', 'example.com', 'Quirky Sender', '120', '4', 'https']);

  await alice.getByRole('link', { name: 'Quirky Sender' }).click();
  await alice.waitForURL(/\/reports\/\d+$/);
  await hydrated(alice);
  const reportUrl = alice.url();
  assert.match(await alice.locator('#report-sessions').innerText(), /120 successful, 4 failed/);
  const failure = await alice.locator('table.failures tbody tr').first().innerText();
  assert.match(failure, /certificate-expired/);
  assert.match(failure, /mx1\.example\.com/);
  assert.match(failure, /198\.51\.100\.9/);
  const warnings = await alice.locator('#report-warnings li').allInnerTexts();
  assert.ok(warnings.some((w) => w.includes('date-without-timezone')), warnings.join('\n'));
  assert.ok(warnings.some((w) => w.includes('missing-contact-info')), warnings.join('\n'));

  // Another tenant gets nothing, neither in the list nor by URL.
  const mallory = await signUpWithOrg('mallory@other.test', 'Other');
  const otherOrg = mallory.url().match(/\/orgs\/(\d+)$/)[1];
  await mallory.goto(`${moat.url}/orgs/${otherOrg}/reports`);
  await hydrated(mallory);
  await mallory.locator('#no-reports').waitFor();
  await mallory.goto(reportUrl);
  await hydrated(mallory);
  const body = await mallory.locator('body').innerText();
  assert.ok(!body.includes('Quirky Sender'), body);
  assert.match(body, /not found|not allowed|permission/i);
});
