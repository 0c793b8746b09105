// Domains in a real browser against real DNS: NSD serves the customer zone `shop.test`, Moat
// resolves through it. An owner adds the domain, sees the three records, publishes them (NSD
// reloads), checks, and switches the policy to enforce with the required confirmation; the
// operator CLI sees the result. A reporting-only domain needs one record; another
// organization's member gets 404; the page fits a phone.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { freePort, hydrated, launchBrowser, newPage, startMoat, startNsd, startPlainSmtp } from './helpers.mjs';

const ZONE = 'sts.moat.test';

/** The customer's zone; `published` adds the three CNAMEs into Moat's zone. */
function shopZone(published) {
  return [
    '$ORIGIN shop.test.',
    '$TTL 1',
    '@ IN SOA ns1.shop.test. hostmaster.shop.test. 1 3600 600 86400 1',
    '@ IN NS ns1.shop.test.',
    'ns1 IN A 127.0.0.1',
    '@ IN MX 10 mx1.shop.test.',
    'mx1 IN A 127.0.0.30',
    ...(published
      ? [
          `mta-sts IN CNAME mta-sts.shop.test.${ZONE}.`,
          `_mta-sts IN CNAME _mta-sts.shop.test.${ZONE}.`,
          `_smtp._tls IN CNAME _smtp._tls.shop.test.${ZONE}.`,
        ]
      : []),
    '',
  ].join('\n');
}

let nsd;
let smtp; // mx1.shop.test: an MX that does not offer STARTTLS
let moat;
let browser;
let alice; // the owner's page, shared by the tests below (they run in order)
let domainUrl;

before(async () => {
  nsd = await startNsd({ 'shop.test': shopZone(false) });
  smtp = await startPlainSmtp('127.0.0.30', 'mx1.shop.test');
  moat = await startMoat({
    MOAT_PROBE_PORT: String(smtp.port),
    MOAT_PROBE_ALLOW_PRIVATE: 'true',
    MOAT_ZONE: ZONE,
    MOAT_RESOLVERS: nsd.addr,
    MOAT_DNS_ADDR: `127.0.0.1:${await freePort()}`,
    MOAT_POLICY_ADDR: `127.0.0.1:${await freePort()}`,
    MOAT_SMTP_ADDR: `127.0.0.1:${await freePort()}`,
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await moat?.stop();
  await smtp?.stop();
  await nsd?.stop();
});

async function signUp(page, email, password) {
  await page.goto(`${moat.url}/signup`);
  await hydrated(page);
  await page.getByLabel('Work e-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/orgs');
  await hydrated(page);
}

async function createOrg(page, name) {
  await page.getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Create organization' }).click();
  await page.waitForURL(/\/orgs\/\d+$/);
  await hydrated(page);
}

const statuses = (page) => page.locator('#setup .record .rec-status').allInnerTexts();

test('an owner adds a domain, publishes the records, checks them and enforces the policy', async () => {
  alice = await newPage(browser);
  await alice.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: moat.url });
  await signUp(alice, 'alice@shop.test', 'alice correct horse');
  await createOrg(alice, 'Shop');

  // The organization page leads to the domains.
  await assert.doesNotReject(alice.locator('#org-domains').getByText('No domains yet.').waitFor());
  await alice.getByRole('link', { name: 'Manage domains' }).click();
  await alice.waitForURL(/\/orgs\/\d+\/domains$/);
  await hydrated(alice);

  // A refused name is reported next to the field.
  await alice.getByLabel('Domain', { exact: true }).fill('https://shop.test/');
  await alice.getByRole('button', { name: 'Add domain' }).click();
  await assert.doesNotReject(alice.getByText('not a URL or an address').waitFor());

  await alice.getByLabel('Domain', { exact: true }).fill('Shop.Test');
  await alice.getByRole('button', { name: 'Add domain' }).click();
  await alice.waitForURL(/\/orgs\/\d+\/domains\/shop\.test$/);
  await hydrated(alice);
  domainUrl = alice.url();

  // The three records, each with its name and target, and the zone-file snippet.
  const records = alice.locator('#setup .record');
  assert.equal(await records.count(), 3);
  assert.equal(await alice.locator('#setup .record .badge', { hasText: 'required' }).count(), 3);
  assert.deepEqual(await alice.locator('#setup .rec-name').allInnerTexts(), [
    'mta-sts.shop.test',
    '_mta-sts.shop.test',
    '_smtp._tls.shop.test',
  ]);
  assert.deepEqual(await alice.locator('#setup .rec-target').allInnerTexts(), [
    `mta-sts.shop.test.${ZONE}.`,
    `_mta-sts.shop.test.${ZONE}.`,
    `_smtp._tls.shop.test.${ZONE}.`,
  ]);
  assert.equal(
    (await alice.locator('#zone-snippet').innerText()).trim(),
    [
      `mta-sts.shop.test. 3600 IN CNAME mta-sts.shop.test.${ZONE}.`,
      `_mta-sts.shop.test. 3600 IN CNAME _mta-sts.shop.test.${ZONE}.`,
      `_smtp._tls.shop.test. 3600 IN CNAME _smtp._tls.shop.test.${ZONE}.`,
    ].join('\n'),
  );
  assert.equal(await alice.locator('h1 .badge.state-pending').innerText(), 'pending');
  // A fresh domain has no ACME certificate: the policy host is served by Moat's local CA.
  assert.match(await alice.locator('#certificate').innerText(), /mta-sts\.shop\.test[\s\S]*local CA \(no ACME certificate yet\)/);

  // Copy puts the exact target on the clipboard.
  await records.nth(0).getByRole('button', { name: /Copy the target/ }).click();
  await assert.doesNotReject(records.nth(0).getByRole('button', { name: /Copy the target/ }).getByText('Copied').waitFor());
  assert.equal(await alice.evaluate(() => navigator.clipboard.readText()), `mta-sts.shop.test.${ZONE}.`);

  // Not published yet: "Check now" finds nothing and the domain stays pending.
  await alice.getByRole('button', { name: 'Check now' }).click();
  await assert.doesNotReject(alice.locator('#setup .rec-status.bad').first().waitFor());
  assert.deepEqual(await statuses(alice), Array(3).fill('missing: no CNAME at this name yet'));
  assert.equal(await alice.locator('h1 .badge').first().innerText(), 'pending');

  // The customer publishes the records; the next check makes the domain active.
  await nsd.reload({ 'shop.test': shopZone(true) });
  await alice.getByRole('button', { name: 'Check now' }).click();
  await assert.doesNotReject(alice.locator('h1 .badge.state-active').waitFor());
  assert.deepEqual(await statuses(alice), ['OK', 'OK', 'OK']);
  assert.notEqual(await alice.locator('#checked-at').innerText(), 'not checked yet');

  // The editor: the live MX, the proposed pattern, and the first policy (testing, mx1).
  await assert.doesNotReject(alice.locator('#live-mx').getByText('mx1.shop.test').first().waitFor());
  assert.deepEqual(await alice.locator('#live-mx .proposed').allInnerTexts(), ['mx1.shop.test']);
  assert.equal(
    await alice.locator('#policy-body').innerText(),
    'version: STSv1\nmode: testing\nmx: mx1.shop.test\nmax_age: 86400\n',
  );
  assert.equal(await alice.getByLabel('MX patterns, one per line').inputValue(), 'mx1.shop.test');
  assert.equal(await alice.getByLabel('Mode', { exact: true }).inputValue(), 'testing');
  const firstId = await alice.locator('#latest-id').innerText();

  // "Use proposed" fills the patterns.
  await alice.getByLabel('MX patterns, one per line').fill('');
  await alice.getByRole('button', { name: 'Use proposed' }).click();
  assert.equal(await alice.getByLabel('MX patterns, one per line').inputValue(), 'mx1.shop.test');

  // Enforce needs the confirmation: it appears with the honest word on TLS reports, and saving
  // without it is refused.
  const confirm = alice.getByLabel(/I understand senders will refuse delivery/);
  assert.equal(await confirm.isVisible(), false);
  await alice.getByLabel('Mode', { exact: true }).selectOption('enforce');
  await assert.doesNotReject(confirm.waitFor());
  assert.ok(await alice.getByText('No TLS reports have been received for this domain yet').isVisible());
  await alice.getByRole('button', { name: '1 week' }).click();
  assert.equal(await alice.getByLabel('max_age (seconds)').inputValue(), '604800');
  await alice.getByRole('button', { name: 'Save policy' }).click();
  await assert.doesNotReject(alice.getByText('confirm that senders will refuse delivery').waitFor());
  assert.equal(await alice.locator('#history tbody tr').count(), 1);
  assert.equal(await alice.locator('#latest-id').innerText(), firstId);

  await confirm.check();
  await alice.getByRole('button', { name: 'Save policy' }).click();
  // Not ready for enforce (nothing probed, no TLS reports): refused, naming the failing checks.
  await assert.doesNotReject(alice.getByText(/not ready for enforce \(.*mx-probes/).waitFor());
  assert.equal(await alice.locator('#latest-id').innerText(), firstId);
  const readiness = alice.locator('#readiness');
  assert.match(await readiness.locator('#readiness-summary').innerText(), /Not ready/);
  assert.match(await readiness.locator('li[data-code="reports"]').innerText(), /no TLS reports/i);
  // Probing the MX shows what a sending MTA would see: mx1.shop.test offers no STARTTLS.
  await readiness.getByRole('button', { name: 'Probe MX hosts now' }).click();
  const probeRow = readiness.locator('#probes tbody tr', { hasText: 'mx1.shop.test' });
  await assert.doesNotReject(probeRow.getByText('starttls-not-supported').waitFor());
  assert.match(await probeRow.innerText(), new RegExp(`127\\.0\\.0\\.30:${smtp.port}`));
  assert.match(await readiness.locator('li[data-code="mx-probes"]').getAttribute('class'), /check-fail/);
  assert.match(await readiness.locator('li[data-code="mx-probes"]').innerText(), /mx1\.shop\.test/);
  assert.deepEqual([...new Set(smtp.seen)].sort(), ['EHLO', 'QUIT'], 'the probe never sends MAIL');
  // Knowingly overriding the checks saves enforce; the audit log records the override.
  await alice.getByLabel(/Switch even if the readiness checks fail/).check();
  await alice.getByRole('button', { name: 'Save policy' }).click();
  await assert.doesNotReject(alice.locator('#policy-saved').getByText('Saved version 2').waitFor());
  const newId = await alice.locator('#policy-saved code').innerText();
  assert.notEqual(newId, firstId);
  await assert.doesNotReject(alice.locator('#history tbody tr').nth(1).waitFor());
  assert.equal(await alice.locator('#latest-id').innerText(), newId);
  // The id reaches DNS a few seconds after the body is served; the page follows by itself.
  await alice.waitForFunction((id) => document.querySelector('#published-id')?.textContent === id, newId, {
    timeout: 10_000,
  });
  assert.equal(
    await alice.locator('#policy-body').innerText(),
    'version: STSv1\nmode: enforce\nmx: mx1.shop.test\nmax_age: 604800\n',
  );
  const history = await alice.locator('#history tbody tr').allInnerTexts();
  assert.equal(history.length, 2);
  assert.match(history[0], /mode testing → enforce/);
  assert.match(history[0], /max_age 86400 → 604800/);
  assert.match(history[0], /alice@shop\.test/);
  assert.match(history[1], /first version/);

  // The operator CLI reads the same policy.
  const shown = JSON.parse(await moat.cli(['policy', 'show', 'shop.test', '--json']));
  assert.equal(shown.mode, 'enforce');
  assert.equal(shown.policy_id, newId);
  assert.equal(shown.version, 2);
  assert.deepEqual(shown.mx, ['mx1.shop.test']);

  // MX changes: nothing to change while the policy fits the live MX; planning a move to
  // Microsoft 365 lists the safe steps, the first of them not done.
  const plan = alice.locator('#mx-plan');
  await assert.doesNotReject(plan.locator('#no-plan').waitFor());
  await plan.getByLabel('Plan a move to other MX hosts').fill('*.mail.protection.outlook.com');
  await plan.getByRole('button', { name: 'Plan the change' }).click();
  await assert.doesNotReject(plan.locator('#plan-steps li').first().waitFor());
  const steps = await plan.locator('#plan-steps li').allInnerTexts();
  assert.match(steps[0], /○ Add \*\.mail\.protection\.outlook\.com to the policy/);
  assert.ok(steps.some((t) => /Remove mx1\.shop\.test/.test(t)), steps.join('\n'));
  await plan.getByRole('button', { name: 'Dismiss the plan' }).click();
  await assert.doesNotReject(plan.locator('#no-plan').waitFor());

  await alice.goto(domainUrl.replace(/\/domains\/shop\.test$/, '/audit'));
  await hydrated(alice);
  await assert.doesNotReject(
    alice.getByText(/shop\.test: switched to enforce although not ready: .*mx-probes/).first().waitFor(),
  );
  assert.ok(await alice.locator('td code', { hasText: 'mx_plan.proposed' }).first().isVisible());

  // The org page and the list show the domain.
  await alice.goto(domainUrl.replace(/\/shop\.test$/, ''));
  await hydrated(alice);
  const row = alice.locator('#domains tbody tr', { hasText: 'shop.test' });
  assert.match(await row.innerText(), /active/);
  assert.match(await row.innerText(), /enforce/);

  // Deleting an active domain is refused with the reason.
  await alice.goto(domainUrl);
  await hydrated(alice);
  await alice.getByRole('button', { name: 'Delete domain' }).click();
  await assert.doesNotReject(alice.getByText('run "Remove MTA-STS" first').waitFor());
  assert.deepEqual(alice.errors, []);
});

test('a reporting-only domain needs one record and has no policy editor', async () => {
  await alice.goto(domainUrl.replace(/\/shop\.test$/, ''));
  await hydrated(alice);
  await alice.getByLabel('Domain', { exact: true }).fill('reports-only.test');
  await alice.getByText('TLS reporting only').click();
  await alice.getByRole('button', { name: 'Add domain' }).click();
  await alice.waitForURL(/\/domains\/reports-only\.test$/);
  await hydrated(alice);
  const required = alice.locator('#setup .record', { has: alice.locator('.badge', { hasText: 'required' }) });
  assert.equal(await required.count(), 1);
  assert.equal(await required.locator('.rec-name').innerText(), '_smtp._tls.reports-only.test');
  assert.equal(
    (await alice.locator('#zone-snippet').innerText()).trim(),
    `_smtp._tls.reports-only.test. 3600 IN CNAME _smtp._tls.reports-only.test.${ZONE}.`,
  );
  assert.equal(await alice.locator('#policy').count(), 0);
  assert.equal(await alice.locator('h1 .badge', { hasText: 'reporting only' }).count(), 1);

  // Pending and reporting-only domains may be deleted at once.
  await alice.getByRole('button', { name: 'Delete domain' }).click();
  await alice.waitForURL(/\/domains$/);
  await hydrated(alice);
  assert.equal(await alice.locator('#domains tbody tr', { hasText: 'reports-only.test' }).count(), 0);
  assert.deepEqual(alice.errors, []);
});

test("another organization's member gets 404 for the domain", async () => {
  const mallory = await newPage(browser);
  await signUp(mallory, 'mallory@elsewhere.test', 'mallory long password');
  await createOrg(mallory, 'Elsewhere');
  const resp = await mallory.goto(domainUrl);
  assert.equal(resp.status(), 404);
  await assert.doesNotReject(mallory.getByRole('heading', { name: 'Page not found' }).waitFor());
  const list = await mallory.goto(domainUrl.replace(/\/shop\.test$/, ''));
  assert.equal(list.status(), 404);
  // The API answers the same for a direct call (her session, Alice's organization).
  const orgId = domainUrl.match(/\/orgs\/(\d+)\//)[1];
  const api = await mallory.evaluate(
    async ([org]) => {
      const r = await fetch('/api/domains/detail', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `org=${org}&name=shop.test`,
      });
      return r.status;
    },
    [orgId],
  );
  assert.equal(api, 404);
});

test('the domain page fits a phone', async () => {
  await alice.setViewportSize({ width: 390, height: 844 });
  await alice.goto(domainUrl);
  await hydrated(alice);
  const overflow = () => alice.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok((await overflow()) <= 0, `the domain page is ${await overflow()}px wider than the viewport`);
  await alice.goto(domainUrl.replace(/\/shop\.test$/, ''));
  await hydrated(alice);
  assert.ok((await overflow()) <= 0, `the domains list is ${await overflow()}px wider than the viewport`);
  assert.deepEqual(alice.errors, []);
});
