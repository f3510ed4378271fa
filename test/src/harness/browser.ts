import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's chromium, used when it is installed (`apt-get install chromium`). */
const DEBIAN_CHROMIUM = '/usr/bin/chromium';

export interface TestBrowser {
  context: BrowserContext;
  /** Which Chromium this is (its path and where it came from), for messages. */
  source: string;
  close(): Promise<void>;
}

/** A Chromium to run, or why there is none (the test is then skipped with that reason, never passed). */
export type ChromiumFound = { path: string; source: string } | { missing: string };

/**
 * Where the dashboard tests get their Chromium, first that applies:
 *  1. TFJS_DDP_CHROMIUM, a path (a developer's own browser);
 *  2. Debian's /usr/bin/chromium, if installed;
 *  3. @sparticuz/chromium, a devDependency whose npm tarball holds a brotli-compressed
 *     headless Chromium for x64 Linux, unpacked to /tmp/chromium on first use. It is the
 *     one a fresh machine has: `npm ci` brings it, no apt and no browser download.
 */
export async function findChromium(): Promise<ChromiumFound> {
  const override = process.env['TFJS_DDP_CHROMIUM'];
  if (override !== undefined && override !== '') {
    return existsSync(override)
      ? { path: override, source: 'TFJS_DDP_CHROMIUM' }
      : { missing: `TFJS_DDP_CHROMIUM=${override} does not exist (unset it to use the npm Chromium)` };
  }
  if (existsSync(DEBIAN_CHROMIUM)) return { path: DEBIAN_CHROMIUM, source: 'Debian chromium' };
  // The npm Chromium is built for x64 Linux only; elsewhere say what to install instead.
  if (platform() !== 'linux' || arch() !== 'x64') {
    return { missing: `no Chromium for ${platform()}/${arch()} in npm; install with: apt-get install chromium (or set TFJS_DDP_CHROMIUM)` };
  }
  const { default: sparticuz } = await import('@sparticuz/chromium');
  return { path: await sparticuz.executablePath(), source: '@sparticuz/chromium' };
}

let found: Promise<ChromiumFound> | undefined;
/** The search runs once per process (unpacking the npm Chromium takes seconds). */
export function chromiumOnce(): Promise<ChromiumFound> {
  found ??= findChromium();
  return found;
}

/**
 * Headless Chromium with a fresh profile that talks to nothing but the pages it is sent
 * to: no background networking, component updates, sync or first-run work (the tests run
 * with no network and must not try to reach one). Playwright's own flags, not those
 * @sparticuz/chromium suggests for AWS Lambda (single process, no web security, ...):
 * the page must run as it runs in a user's browser.
 */
export async function launchBrowser(executablePath: string, source: string): Promise<TestBrowser> {
  const profile = mkdtempSync(path.join(tmpdir(), 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    timeout: 30_000,
    viewport: { width: 1440, height: 1100 },
    // A fixed locale: otherwise Chromium derives one from LANG/LC_* (en-US@posix under LANG=C.UTF-8, as on a fresh Debian),
    // which Intl rejects and the page's number formatting throws on.
    locale: 'en-US',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-default-apps', '--disable-extensions'],
  });
  return {
    context,
    source: `${executablePath} (${source})`,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
