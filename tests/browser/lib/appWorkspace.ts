/**
 * How every test of the app shell starts and ends: a temporary directory, the app bundle building into it while the
 * test starts its hub and Prometheus, Chromium on a fresh profile there, and cleanups run in reverse order after
 * the test, whatever failed.
 *
 *   const ws = await appWorkspace(t, 'two-clusters');
 *   const env = await startAppEnv(ws.bundleDir);
 *   ws.cleanups.push(() => env.close());
 *   await ws.built;
 *   const { page, consoleErrors } = await ws.openBrowser({ width: 2700, height: 1100 });
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type Page } from 'playwright-core';
import { buildHarness } from '../harness/build';
import { CHROMIUM, CHROMIUM_ARGS } from './appPage';

const APP_ENTRY = join(__dirname, '..', 'app', 'entry.tsx');

export interface OpenBrowser {
  page: Page;
  /** Console errors and uncaught page errors, in order; a test empties it when it opens a page. */
  consoleErrors: string[];
}

export interface AppWorkspace {
  tmp: string;
  /** Where the bundle is built and the site is served from. */
  bundleDir: string;
  /** The bundle's build, started at once; await it before opening a page. */
  built: Promise<void>;
  /** Run after the test, last added first. */
  cleanups: Array<() => Promise<unknown>>;
  /** Chromium on a fresh profile (downloads accepted, Playwright's default), closed after the test. */
  openBrowser(viewport: { width: number; height: number }): Promise<OpenBrowser>;
}

export async function appWorkspace(t: TestContext, name: string): Promise<AppWorkspace> {
  const cleanups: Array<() => Promise<unknown>> = [];
  t.after(async () => {
    for (const c of cleanups.reverse()) {
      await c().catch(() => undefined);
    }
  });
  const tmp = await mkdtemp(join(tmpdir(), `flowlens-${name}-`));
  cleanups.push(() => rm(tmp, { recursive: true, force: true }));
  const bundleDir = join(tmp, 'site');
  await mkdir(bundleDir);
  const built = buildHarness(bundleDir, { entry: APP_ENTRY, esm: true });
  built.catch(() => undefined); // awaited by the test; a failure before then is not unhandled
  return {
    tmp,
    bundleDir,
    built,
    cleanups,
    openBrowser: async (viewport) => {
      const context = await chromium.launchPersistentContext(join(tmp, 'profile'), {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport,
      });
      cleanups.push(() => context.close());
      const page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(20_000);
      const consoleErrors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') {
          consoleErrors.push(m.text());
        }
      });
      page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
      return { page, consoleErrors };
    },
  };
}
