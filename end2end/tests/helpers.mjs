// Shared helpers: start a real `moat serve` on loopback with a fresh data directory, drive
// Debian's Chromium through playwright-core, and read the mail Moat wrote to its outbox.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..', '..');
const target = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(root, 'target');

export async function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
    srv.on('error', fail);
  });
}

/** Starts Moat; resolves once /healthz answers. `env` adds MOAT_* settings. */
export async function startMoat(env = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'moat-e2e-'));
  const port = await freePort();
  const bin = process.env.MOAT_BIN ?? join(target, 'debug', 'moat');
  const child = spawn(bin, ['serve'], {
    env: {
      ...process.env,
      MOAT_DATA_DIR: dataDir,
      MOAT_WEB_ADDR: `127.0.0.1:${port}`,
      MOAT_SITE_ROOT: join(target, 'site'),
      MOAT_LOG: 'warn',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moat exited with ${child.exitCode}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error('moat did not become healthy in 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    dataDir,
    outbox: join(dataDir, 'outbox'),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A page that records uncaught errors (a failed hydration shows up here). */
export async function newPage(browser, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('console', (m) => {
    // 4xx answers of server functions (a wrong password, a refused field) are expected and
    // shown on the page; Chromium still logs them as "Failed to load resource".
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) {
      page.errors.push(m.text());
    }
  });
  return page;
}

/** Waits until the WASM has hydrated the page (the loader calls `hydrate` after fetching). */
export async function hydrated(page) {
  await page.waitForSelector('html[data-hydrated]', { state: 'attached', timeout: 20_000 });
}

function decodeBody(eml) {
  const [head, ...rest] = eml.split(/\r?\n\r?\n/);
  let body = rest.join('\n\n');
  if (/content-transfer-encoding:\s*quoted-printable/i.test(head)) {
    body = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
  } else if (/content-transfer-encoding:\s*base64/i.test(head)) {
    body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  }
  return { head, body };
}

/** Every message in the outbox as {to, subject, body}, oldest first. */
export function readOutbox(dir) {
  let files;
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort();
  } catch {
    return [];
  }
  return files.map((f) => {
    const { head, body } = decodeBody(readFileSync(join(dir, f), 'utf8'));
    const header = (name) => (head.match(new RegExp(`^${name}:\\s*(.*)$`, 'mi')) ?? [])[1]?.trim();
    return { file: f, to: header('To'), subject: header('Subject'), body };
  });
}

export function linkIn(mail, path) {
  const m = mail.body.match(new RegExp(`https?://\\S+${path}\\?token=[A-Za-z0-9_-]+`));
  if (!m) throw new Error(`no ${path} link in mail:\n${mail.body}`);
  return m[0];
}
