// Health pre-check before any browser starts: fail fast, naming the failing services.
import type { FullConfig } from '@playwright/test';

export default async function globalSetup(config: FullConfig): Promise<void> {
  const baseURL = config.projects[0]?.use.baseURL;
  if (!baseURL) throw new Error('no target: set PLAYWRIGHT_BASE_URL');
  const secret = process.env.STAGING_E2E_SECRET;
  if (!secret) throw new Error('STAGING_E2E_SECRET is not set');

  const health = await fetch(new URL('/health', baseURL));
  const staging = await fetch(new URL('/staging/e2e/health', baseURL), {
    headers: { 'X-Staging-E2E-Secret': secret },
  });
  if (staging.status === 401 || staging.status === 403 || staging.status === 404) {
    throw new Error(`GET /staging/e2e/health answered ${staging.status}: staging E2E mode off or wrong secret`);
  }
  const body = (await staging.json()) as { status?: string; failing?: string[] };
  if (!health.ok || !staging.ok || body.status !== 'ok') {
    throw new Error(
      `health pre-check failed (/health ${health.status}, /staging/e2e/health ${staging.status}); ` +
        `failing services: ${(body.failing ?? []).join(', ') || 'unknown'}`,
    );
  }
}
