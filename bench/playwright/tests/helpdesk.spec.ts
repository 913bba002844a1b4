// Flows 3 to 14: one ticket from the requester's portal to the requester's bell, in order, then
// the requester signs out (last: signing out ends the session the other tests share).
// Each test signs in as its user through the saved storage state (project `auth`); later tests
// use the ticket number and the invite link that earlier ones found, so the block is serial:
// after a failure the rest are skipped, as flows skips the flows that `need` a failed one.
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { authFile, filesDir, portalSlug, pusherKey, runId, users } from './support/env';
import { extractLink, extractOtp, waitForMail } from './support/mail';
import { PusherListener, SseListener } from './support/realtime';

const subject = `Printer on fire (${runId})`;
let ticket = '';
let inviteLink = '';

test.describe.serial('ticket lifecycle', () => {
  test.describe('as the requester', () => {
    test.use({ storageState: authFile('requester') });

    test('03 department portal open', async ({ page }, testInfo) => {
      await page.goto(`/d/${portalSlug}`);
      await expect(page.getByRole('heading', { name: 'portal' })).toBeVisible();
      await expect(page.getByRole('link', { name: 'New ticket' })).toBeVisible();
      await page.screenshot({ path: testInfo.outputPath('portal.png') });
    });

    test('04 create ticket (portal)', async ({ page }, testInfo) => {
      await page.goto(`/d/${portalSlug}`);
      await page.getByRole('link', { name: 'New ticket' }).click();
      await page.getByLabel('Subject').fill(subject);
      await page.getByLabel('Description').fill(`The printer on floor 2 is smoking. Filed by Playwright run ${runId}.`);
      await page.getByRole('button', { name: 'Create ticket' }).click();

      await expect(page).toHaveURL(/\/tickets\/\d+$/);
      ticket = /\/tickets\/(\d+)/.exec(page.url())![1];
      await expect(page.getByTestId('ticket-number')).toContainText(`#${ticket}`);
      await expect(page.getByRole('heading', { name: subject })).toBeVisible();
      await expect(page.getByTestId('ticket-status')).toContainText('Open');
      await page.screenshot({ path: testInfo.outputPath('ticket-created.png') });
    });

    test('05 upload attachment', async ({ page }, testInfo) => {
      await page.goto(`/tickets/${ticket}`);
      await page.getByLabel('Attachment', { exact: true }).setInputFiles(path.join(filesDir, 'error-log.txt'));
      await page.getByRole('button', { name: 'Upload' }).click();
      const link = page.getByRole('link', { name: 'error-log.txt' });
      await expect(link).toBeVisible();

      // The download's binary header contract (seed 002), with the requester's cookies.
      const href = (await link.getAttribute('href'))!;
      const res = await page.request.get(href);
      expect(res.status()).toBe(200);
      const headers = res.headers();
      expect(headers['content-type']).toContain('text/plain');
      expect(headers['content-disposition']).toContain('attachment; filename="error-log.txt"');
      expect(headers['x-content-type-options']).toBe('nosniff');
      expect(await res.text()).toContain('paper jam in tray 2');
      await page.screenshot({ path: testInfo.outputPath('attachment-listed.png') });
    });
  });

  test.describe('as the department head', () => {
    test.use({ storageState: authFile('head') });

    test('06 department head receives ticket', async ({ page }) => {
      await page.goto('/inbox');
      await expect(page.getByRole('heading', { name: 'Inbox' })).toBeVisible();
      await page.getByRole('table', { name: 'Tickets' }).getByRole('link', { name: subject }).click();
      await expect(page).toHaveURL(new RegExp(`/tickets/${ticket}$`));
      await expect(page.getByTestId('ticket-number')).toContainText(`#${ticket}`);
    });

    test('07 assign ticket', async ({ page }) => {
      await page.goto(`/tickets/${ticket}`);
      await page.getByLabel('Assignee').selectOption({ label: `${users.agent.name} (${users.agent.email})` });
      await page.getByRole('button', { name: 'Assign', exact: true }).click();
      await expect(page.getByRole('status')).toContainText(`Assigned to ${users.agent.name}`);
      await expect(page.getByTestId('ticket-assignee')).toContainText(users.agent.name);
    });

    test('08 add collaborator', async ({ page, request }) => {
      await page.goto(`/tickets/${ticket}`);
      await page.getByLabel('Collaborator email').fill(users.collaborator.email);
      const since = new Date();
      await page.getByRole('button', { name: 'Add collaborator' }).click();
      await expect(page.getByRole('status')).toContainText('Added collaborator');
      await expect(page.getByRole('region', { name: 'Collaborators' }).getByText(users.collaborator.email)).toBeVisible();

      const mail = await waitForMail(request, {
        to: users.collaborator.email,
        subject: `You were added to ticket #${ticket}`,
        since,
      });
      inviteLink = extractLink(mail, { url: /\/tickets\/\d+/ });
    });
  });

  test.describe('as the collaborator', () => {
    // Not signed in yet: the invite link leads through the sign-in page back to the ticket.
    test.use({ storageState: { cookies: [], origins: [] } });

    test('09 collaborator replies', async ({ page, request }) => {
      await page.goto(inviteLink);
      await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
      await page.getByLabel('Email').fill(users.collaborator.email);
      const since = new Date();
      await page.getByRole('button', { name: 'Send code' }).click();
      await expect(page.getByRole('heading', { name: 'Enter your code' })).toBeVisible();
      const mail = await waitForMail(request, { to: users.collaborator.email, subject: 'Your sign-in code', since });
      await page.getByLabel('Code').fill(extractOtp(mail));
      await page.getByRole('button', { name: 'Verify' }).click();
      await expect(page).toHaveURL(new RegExp(`/tickets/${ticket}$`));
      await page.context().storageState({ path: authFile('collaborator') });

      const reply = `Collaborator here: I unplugged it (${runId}).`;
      await page.getByLabel('Reply').fill(reply);
      await page.getByRole('button', { name: 'Send reply' }).click();
      await expect(page.getByRole('region', { name: 'Conversation' }).getByText(reply)).toBeVisible();
    });
  });

  test.describe('as the department head, again', () => {
    test.use({ storageState: authFile('head') });

    test('10 internal note', async ({ page, playwright, baseURL }) => {
      await page.goto(`/tickets/${ticket}`);
      const note = `Vendor contacted, part on order (${runId}).`;
      await page.getByLabel('Internal note').fill(note);
      await page.getByRole('button', { name: 'Add note' }).click();
      await expect(page.getByText(note)).toBeVisible();

      // Requesters are refused staff routes (the 403 contract, seed 002).
      const requester = await playwright.request.newContext({ baseURL, storageState: authFile('requester') });
      const res = await requester.get('/inbox', { headers: { Accept: 'application/json' } });
      expect(res.status()).toBe(403);
      expect(await res.json()).toMatchObject({ error: 'forbidden' });
      await requester.dispose();
    });

    test('11 status update', async ({ page }) => {
      await page.goto(`/tickets/${ticket}`);
      await page.getByLabel('Status').selectOption({ label: 'In progress' });
      await page.getByRole('button', { name: 'Update status' }).click();
      await expect(page.getByRole('status')).toContainText('Status changed to In progress');
      await expect(page.getByTestId('ticket-status')).toContainText('In progress');
    });

    test('12 close ticket', async ({ page }, testInfo) => {
      await page.goto(`/tickets/${ticket}`);
      await page.getByRole('button', { name: 'Close ticket' }).click();
      await expect(page.getByTestId('ticket-status')).toHaveText(/closed|resolved/i);
      await page.screenshot({ path: testInfo.outputPath('ticket-closed.png') });
    });
  });

  test.describe('as the requester, live', () => {
    test.use({ storageState: authFile('requester') });

    test('13 notification received', async ({ page, browser, baseURL }) => {
      await page.goto('/dashboard');
      const me = await page.request.get('/api/me');
      expect(me.status()).toBe(200);
      const { id } = (await me.json()) as { id: number };

      // Listen as the requester on both channels before the head replies.
      const bell = await PusherListener.subscribe(baseURL!, pusherKey, `private-App.Models.User.${id}`, page.request);
      const stream = await SseListener.open(baseURL!, '/api/notifications/stream', page.context());
      try {
        const head = await browser.newContext({ storageState: authFile('head') });
        const headPage = await head.newPage();
        const reply = `We replaced the fuser (${runId}).`;
        await headPage.goto(`/tickets/${ticket}`);
        await headPage.getByLabel('Reply').fill(reply);
        await headPage.getByRole('button', { name: 'Send reply' }).click();
        await expect(headPage.getByRole('status')).toContainText('Reply sent');
        await head.close();

        // The websocket frame, the SSE event, the unread-count API and the bell.
        await bell.waitFor('notification.created', (d) => String(d.ticket) === ticket);
        await stream.waitFor('notification.created', (d) => String(d.ticket) === ticket);
        const unread = await page.request.get('/api/notifications/unread-count');
        expect(unread.status()).toBe(200);
        expect(((await unread.json()) as { unread: number }).unread).toBeGreaterThanOrEqual(1);

        await page.goto('/dashboard');
        await expect(page.getByTestId('unread-count')).toHaveText(/^[1-9][0-9]*$/);
        await page.getByTestId('notification-bell').click();
        await expect(page.getByRole('heading', { name: 'Notifications' })).toBeVisible();
        // The list shows who did what ("Harper Head replied to ticket #1001"), not the reply's body.
        await expect(
          page.getByRole('list', { name: 'Notification list' }).getByRole('link', { name: `${users.head.name} replied to ticket #${ticket}` }),
        ).toBeVisible();
        await page.getByRole('button', { name: 'Mark all as read' }).click();
        await expect(page.getByTestId('unread-count')).toHaveText('0');
      } finally {
        bell.close();
        stream.close();
      }
    });

    test('14 logout', async ({ page }) => {
      await page.goto('/dashboard');
      await page.getByRole('button', { name: 'Log out' }).click();
      await expect(page).toHaveURL(/\/login/);
      await expect(page.getByRole('status')).toContainText('You have been signed out');
      // Protected pages now send the requester to the login page.
      await page.goto('/dashboard');
      await expect(page).toHaveURL(/\/login/);
      await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
    });
  });
});
