// Shared helpers: start a real `moat serve` on loopback with a fresh data directory, drive
// Debian's Chromium through playwright-core, and read the mail Moat wrote to its outbox.
import { execFile, spawn } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

function moatBin() {
  return process.env.MOAT_BIN ?? join(target, 'debug', 'moat');
}

/** Starts Moat; resolves once /healthz answers. `env` adds MOAT_* settings. */
export async function startMoat(env = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'moat-e2e-'));
  const port = await freePort();
  const bin = moatBin();
  const fullEnv = {
    ...process.env,
    MOAT_DATA_DIR: dataDir,
    MOAT_WEB_ADDR: `127.0.0.1:${port}`,
    // Every listener on its own free port: test files run in parallel.
    MOAT_DNS_ADDR: `127.0.0.1:${await freePort()}`,
    MOAT_POLICY_ADDR: `127.0.0.1:${await freePort()}`,
    MOAT_SMTP_ADDR: `127.0.0.1:${await freePort()}`,
    MOAT_SITE_ROOT: join(target, 'site'),
    MOAT_LOG: 'warn',
    ...env,
  };
  const child = spawn(bin, ['serve'], { env: fullEnv, stdio: ['ignore', 'inherit', 'inherit'] });
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
    /** Runs the operator CLI (`moat ARGS…`) against the same database; resolves to stdout. */
    cli(args) {
      return new Promise((ok, fail) => {
        execFile(bin, args, { env: fullEnv }, (err, stdout, stderr) =>
          err ? fail(new Error(`moat ${args.join(' ')}: ${err.message}\n${stderr}`)) : ok(stdout),
        );
      });
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts Chromium. Debian's build now and then dies with SIGSEGV while starting up on this
 * VM, before any page exists; such a start is tried again (up to three times in all) and
 * said so on stderr. Anything after a successful start fails the test as usual.
 */
export async function launchBrowser() {
  for (let attempt = 1; ; attempt++) {
    try {
      return await chromium.launch({
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
    } catch (err) {
      if (attempt >= 3) throw err;
      console.error(`chromium did not start (attempt ${attempt}): ${String(err.message).split('\n')[0]}; trying again`);
    }
  }
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

/**
 * Starts NSD (Debian's `nsd`) in the foreground on a free 127.0.0.1 port, authoritative for
 * `zones` ({name: zone-file text}). `reload(zones)` restarts it on the same port with new zone
 * texts (a customer publishing records); `stop()` ends it and removes its files.
 */
export async function startNsd(zones) {
  const bin = process.env.NSD ?? '/usr/sbin/nsd';
  if (!existsSync(bin)) throw new Error(`${bin} is missing: apt-get install nsd (scripts/setup.sh installs it)`);
  const dir = mkdtempSync(join(tmpdir(), 'moat-nsd-'));
  const port = await freePort();
  let child;
  const write = (zs) => {
    const conf = [
      'server:',
      `  ip-address: 127.0.0.1@${port}`,
      `  port: ${port}`,
      '  do-ip6: no',
      '  username: ""',
      '  chroot: ""',
      `  zonesdir: "${dir}"`,
      '  database: ""',
      `  pidfile: "${dir}/nsd.pid"`,
      `  xfrdfile: "${dir}/xfrd.state"`,
      `  xfrdir: "${dir}"`,
      `  zonelistfile: "${dir}/zone.list"`,
      `  logfile: "${dir}/nsd.log"`,
      '  server-count: 1',
      '  verbosity: 1',
      'remote-control:',
      '  control-enable: no',
      ...Object.keys(zs).flatMap((name) => ['zone:', `  name: ${name}`, `  zonefile: ${name}.zone`]),
      '',
    ].join('\n');
    writeFileSync(join(dir, 'nsd.conf'), conf);
    for (const [name, text] of Object.entries(zs)) writeFileSync(join(dir, `${name}.zone`), text);
  };
  const start = async (zs) => {
    write(zs);
    child = spawn(bin, ['-d', '-c', join(dir, 'nsd.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
    const resolver = new Resolver({ timeout: 300, tries: 1 });
    resolver.setServers([`127.0.0.1:${port}`]);
    const [first] = Object.keys(zs);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) {
        let log = '';
        try {
          log = readFileSync(join(dir, 'nsd.log'), 'utf8');
        } catch {}
        throw new Error(`nsd exited with ${child.exitCode}\n${log}`);
      }
      try {
        await resolver.resolveSoa(first);
        return;
      } catch {}
      if (Date.now() > deadline) throw new Error('nsd did not answer in 10 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const stop = async () => {
    if (!child || child.exitCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
  };
  await start(zones);
  return {
    port,
    addr: `127.0.0.1:${port}`,
    async reload(zs) {
      await stop();
      await start(zs);
    },
    async stop() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A plain SMTP server on `host` (any 127/8 address) that does NOT offer STARTTLS, as a
 * misconfigured MX would: it answers EHLO and QUIT, refuses everything else, and records the
 * command verbs it saw (`seen`), so a test can check a probe never sent MAIL.
 */
export async function startPlainSmtp(host, name = 'mx.test') {
  const seen = [];
  const server = createServer((sock) => {
    sock.on('error', () => {});
    sock.write(`220 ${name} ESMTP test server\r\n`);
    let buf = '';
    sock.on('data', (chunk) => {
      buf += chunk.toString('latin1');
      for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const verb = line.split(' ')[0].toUpperCase();
        seen.push(verb);
        if (verb === 'EHLO') sock.write(`250-${name}\r\n250-PIPELINING\r\n250 8BITMIME\r\n`);
        else if (verb === 'QUIT') sock.end('221 bye\r\n');
        else sock.write('502 5.5.1 not here\r\n');
      }
    });
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, host, ok);
  });
  return {
    port: server.address().port,
    seen,
    stop: () => new Promise((ok) => server.close(() => ok())),
  };
}
