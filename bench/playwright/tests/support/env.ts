// Users, secret and paths shared by the specs. Defaults are the demo helpdesk's seed users.
import path from 'node:path';

export type UserKey = 'requester' | 'head' | 'collaborator';

export const users = {
  requester: { email: process.env.PLAYWRIGHT_STAGING_EMAIL ?? 'requester@helpdesk.test', name: 'Riley Requester' },
  head: { email: process.env.PLAYWRIGHT_STAGING_HEAD_EMAIL ?? 'head@helpdesk.test', name: 'Harper Head' },
  collaborator: {
    email: process.env.PLAYWRIGHT_STAGING_COLLABORATOR_EMAIL ?? 'collaborator@helpdesk.test',
    name: 'Casey Collaborator',
  },
  agent: { email: 'agent@helpdesk.test', name: 'Avery Agent' },
} as const;

export const portalSlug = process.env.PLAYWRIGHT_STAGING_PORTAL_SLUG ?? 'it-support';
export const pusherKey = process.env.PLAYWRIGHT_STAGING_PUSHER_KEY ?? 'helpdesk-key';

/** Header and value that open /staging/e2e/*. */
export function stagingHeaders(): Record<string, string> {
  const secret = process.env.STAGING_E2E_SECRET;
  if (!secret) throw new Error('STAGING_E2E_SECRET is not set');
  return { 'X-Staging-E2E-Secret': secret };
}

/** Saved browser state (cookies) per user; git-ignored. */
export function authFile(user: UserKey): string {
  return path.join(__dirname, '..', '..', '.auth', `${user}.json`);
}

/** Files the flows upload (shared with the flows suite). */
export const filesDir = path.resolve(__dirname, '..', '..', '..', '..', 'flows', 'files');

/** Marks this run's data, like flows' {{ run.id }}. One value per worker process (workers: 1). */
export const runId = process.env.BENCH_RUN_ID ?? Date.now().toString(36);
