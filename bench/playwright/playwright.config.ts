// The 14 demo-helpdesk flows as a Playwright Test suite: the other half of the
// flows-vs-Playwright benchmark (bench/run). Also runnable on its own:
//
//   PLAYWRIGHT_BASE_URL=http://127.0.0.1:8080 STAGING_E2E_SECRET=s3cret npx playwright test
//
// Without PLAYWRIGHT_BASE_URL (and without PLAYWRIGHT_SKIP_WEBSERVER=1) it starts the demo
// helpdesk itself from ../../target/release/helpdesk (build it with
// `cargo build --release --workspace`).
//
// Environment (the names the seed's staging suite uses, plus three for the benchmark):
//   PLAYWRIGHT_BASE_URL        the app under test
//   STAGING_E2E_SECRET         sent as X-Staging-E2E-Secret to /staging/e2e/*
//   PLAYWRIGHT_STAGING_EMAIL / _HEAD_EMAIL / _COLLABORATOR_EMAIL / _PORTAL_SLUG
//   PW_TRACE                   trace mode: off | on | retain-on-failure (default) | ...
//   PW_OUTPUT_DIR              test-results dir (default ./test-results)
//   CHROMIUM_PATH              browser executable (default /usr/bin/chromium)
//   PW_JSON_REPORT             also write Playwright's JSON report there
//   BENCH_RUN_ID               marks the run's data (default: a time stamp)
import { defineConfig } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

type TraceMode = 'off' | 'on' | 'retain-on-failure' | 'on-first-retry' | 'on-all-retries' | 'retain-on-first-failure';
const TRACE_MODES: TraceMode[] = ['off', 'on', 'retain-on-failure', 'on-first-retry', 'on-all-retries', 'retain-on-first-failure'];
const trace = (process.env.PW_TRACE ?? 'retain-on-failure') as TraceMode;
if (!TRACE_MODES.includes(trace)) {
  throw new Error(`PW_TRACE=${trace}: expected one of ${TRACE_MODES.join(', ')}`);
}

// Start the demo helpdesk ourselves unless a target is given. Workers inherit process.env, so a
// secret generated here is the one the tests send.
const startServer = !process.env.PLAYWRIGHT_BASE_URL && !process.env.PLAYWRIGHT_SKIP_WEBSERVER;
if (startServer) {
  process.env.STAGING_E2E_SECRET ??= randomBytes(16).toString('hex');
  process.env.PLAYWRIGHT_BASE_URL = `http://127.0.0.1:${process.env.PW_HELPDESK_PORT ?? '8931'}`;
}
const baseURL = process.env.PLAYWRIGHT_BASE_URL ?? process.env.STAGING_BASE_URL;
const repoRoot = path.resolve(__dirname, '../..');

export default defineConfig({
  testDir: './tests',
  outputDir: process.env.PW_OUTPUT_DIR ?? './test-results',
  globalSetup: './global-setup.ts',
  // One worker and no parallelism: the flows share one ticket and build on each other.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  // `line` for people; bench/run adds a JSON report (PW_JSON_REPORT=path) for per-test times.
  reporter: process.env.PW_JSON_REPORT ? [['line'], ['json', { outputFile: process.env.PW_JSON_REPORT }]] : 'line',
  // The same budgets as flows/flows.toml: step 10 s, navigation 30 s, flow 2 min, mail 30 s.
  timeout: 120_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL,
    trace,
    screenshot: 'only-on-failure',
    video: 'off',
    actionTimeout: 10_000,
    navigationTimeout: 30_000,
    viewport: { width: 1280, height: 900 },
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      // The system Chromium, the same binary chromedriver starts for flows; no browser download.
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  projects: [
    // Flows 1 and 2: sign the requester (OTP) and the head (magic link) in, save their state.
    { name: 'auth', testMatch: /auth\.setup\.ts$/ },
    // Flows 3 to 14: one ticket's life, in order, as the saved users; logout last.
    { name: 'helpdesk', testMatch: /helpdesk\.spec\.ts$/, dependencies: ['auth'] },
  ],
  webServer: startServer
    ? {
        command: `target/release/helpdesk --listen 127.0.0.1:${process.env.PW_HELPDESK_PORT ?? '8931'} --staging`,
        cwd: repoRoot,
        url: `${baseURL}/up`,
        env: { STAGING_E2E_ENABLED: 'true', STAGING_E2E_SECRET: process.env.STAGING_E2E_SECRET! },
        reuseExistingServer: false,
        timeout: 20_000,
      }
    : undefined,
});
