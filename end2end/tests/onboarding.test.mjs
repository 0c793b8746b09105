// The first-day story in a real browser: sign up, create an MSP and a client organization,
// invite a colleague, accept the invitation from the outbox link, and see only the right
// organization.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { hydrated, launchBrowser, linkIn, newPage, readOutbox, startMoat } from './helpers.mjs';

let moat;
let browser;

before(async () => {
  moat = await startMoat();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await moat?.stop();
});

test('an MSP signs up, adds a client, invites a colleague who sees only the client', async () => {
  const alice = await newPage(browser);
  await alice.goto(`${moat.url}/`);
  await hydrated(alice);
  await alice.getByRole('link', { name: 'Create an account' }).click();
  await alice.waitForURL('**/signup');
  await hydrated(alice);

  // Validation errors appear inline, next to the field, without leaving the page.
  await alice.getByLabel('Work e-mail').fill('alice@msp.test');
  await alice.getByLabel('Password').fill('short');
  await alice.getByRole('button', { name: 'Create account' }).click();
  await assert.doesNotReject(alice.getByText('a password has 10 to 256 characters').waitFor());
  assert.equal(await alice.getByLabel('Password').getAttribute('aria-invalid'), 'true');

  await alice.getByLabel('Password').fill('alice correct horse');
  await alice.getByRole('button', { name: 'Create account' }).click();
  await alice.waitForURL('**/orgs');
  await hydrated(alice);
  await assert.doesNotReject(alice.getByText('No organizations yet.').waitFor());

  // An MSP organization.
  await alice.getByLabel('Name').fill('Acme MSP');
  await alice.getByText('This is an MSP').click();
  await alice.getByRole('button', { name: 'Create organization' }).click();
  await alice.waitForURL(/\/orgs\/\d+$/);
  await hydrated(alice);
  const mspUrl = alice.url();
  await assert.doesNotReject(alice.getByRole('heading', { name: /Acme MSP/ }).waitFor());
  assert.match(await alice.locator('h1 .badge').innerText(), /MSP/);

  // A client organization inside it.
  await alice.getByLabel('New client organization').fill('Client One');
  await alice.getByRole('button', { name: 'Add client' }).click();
  const clientLink = alice.locator('#clients').getByRole('link', { name: 'Client One' });
  await clientLink.waitFor();
  await clientLink.click();
  await alice.waitForURL(/\/orgs\/\d+$/);
  await hydrated(alice);
  const clientUrl = alice.url();
  assert.notEqual(clientUrl, mspUrl);
  await assert.doesNotReject(alice.getByText('(through your MSP)').waitFor());

  // Invite Bob to the client organization as admin.
  await alice.locator('#invites').getByLabel('E-mail').fill('bob@client.test');
  await alice.locator('#invites').getByLabel('Role').selectOption('admin');
  await alice.getByRole('button', { name: 'Send invitation' }).click();
  await assert.doesNotReject(alice.getByText('Invitation sent.').waitFor());
  await assert.doesNotReject(alice.locator('#invites').getByText('bob@client.test · admin').waitFor());

  const mails = readOutbox(moat.outbox).filter((m) => m.to === 'bob@client.test');
  assert.equal(mails.length, 1, 'one invitation mail in the outbox');
  assert.match(mails[0].subject, /Client One/);
  const link = linkIn(mails[0], '/invite');
  assert.ok(alice.errors.length === 0, `page errors: ${alice.errors.join('\n')}`);

  // Bob accepts in his own browser and lands in the client organization.
  const bob = await newPage(browser);
  await bob.goto(link);
  await hydrated(bob);
  await assert.doesNotReject(bob.getByRole('heading', { name: 'Join Client One' }).waitFor());
  await bob.getByLabel('Choose a password').fill('bob battery staple');
  await bob.getByRole('button', { name: 'Accept invitation' }).click();
  await bob.waitForURL(clientUrl);
  await hydrated(bob);
  await assert.doesNotReject(bob.getByText('Your role: admin').waitFor());

  // Bob's organization menu lists the client only (it may say who manages it).
  await bob.locator('.switcher summary').click();
  const orgLinks = await bob.locator('.switcher .menu a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(orgLinks, [new URL(clientUrl).pathname, '/orgs']);
  assert.match(await bob.locator('.switcher .menu').innerText(), /Client One/);

  // The MSP is invisible to him: the same page as for an id that does not exist.
  const resp = await bob.goto(mspUrl);
  assert.equal(resp.status(), 404);
  await assert.doesNotReject(bob.getByRole('heading', { name: 'Page not found' }).waitFor());

  // The link was single-use.
  const again = await newPage(browser);
  await again.goto(link);
  await assert.doesNotReject(again.getByText('This invitation cannot be used').waitFor());

  // Alice (owner) sees the acceptance in the client's audit log.
  await alice.goto(`${clientUrl}/audit`);
  await assert.doesNotReject(alice.getByText('bob@client.test accepted the invitation as admin').waitFor());
  assert.deepEqual(bob.errors, []);
});

test('sign-in, password reset by e-mail and sign-out work at phone width', async () => {
  const page = await newPage(browser, { width: 390, height: 844 });
  await page.goto(`${moat.url}/signup`);
  await hydrated(page);
  await page.getByLabel('Work e-mail').fill('carol@example.test');
  await page.getByLabel('Password').fill('carol first password');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/orgs');
  await hydrated(page);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL('**/login');
  await hydrated(page);

  await page.getByLabel('E-mail').fill('carol@example.test');
  await page.getByLabel('Password').fill('wrong password here');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await assert.doesNotReject(page.getByText('wrong e-mail address or password').waitFor());

  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await page.waitForURL('**/forgot');
  await hydrated(page);
  await page.getByLabel('E-mail').fill('carol@example.test');
  await page.getByRole('button', { name: 'Send reset link' }).click();
  await assert.doesNotReject(page.getByText('a reset link is on its way').waitFor());

  const mail = readOutbox(moat.outbox).find((m) => m.to === 'carol@example.test');
  assert.ok(mail, 'reset mail in the outbox');
  await page.goto(linkIn(mail, '/reset'));
  await hydrated(page);
  await page.getByLabel('New password').fill('carol second password');
  await page.getByRole('button', { name: 'Save password' }).click();
  await page.waitForURL('**/orgs');

  // The pages fit the phone: no horizontal scrolling, also on an organization page with tables.
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok((await overflow()) <= 0, `the list is ${await overflow()}px wider than the viewport`);
  await page.getByLabel('Name').fill('Carol Consulting');
  await page.getByText('This is an MSP').click();
  await page.getByRole('button', { name: 'Create organization' }).click();
  await page.waitForURL(/\/orgs\/\d+$/);
  await hydrated(page);
  await page.getByLabel('New client organization').fill('Tiny Client');
  await page.getByRole('button', { name: 'Add client' }).click();
  await page.locator('#clients').getByRole('link', { name: 'Tiny Client' }).waitFor();
  assert.ok((await overflow()) <= 0, `the organization page is ${await overflow()}px wider than the viewport`);
  assert.deepEqual(page.errors, []);
});
