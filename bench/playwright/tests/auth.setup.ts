// Flows 1 and 2: the two sign-in flows. Each leaves its user's storage state behind for the
// flows that follow (the `auth` project is a dependency of the others).
import { test as setup, expect } from '@playwright/test';
import { authFile, users } from './support/env';
import { extractLink, extractOtp, waitForMail } from './support/mail';

setup('01 OTP login', async ({ page, request }, testInfo) => {
  await page.goto('/login');
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await page.getByLabel('Email').fill(users.requester.email);
  const since = new Date();
  await page.getByRole('button', { name: 'Send code' }).click();
  await expect(page.getByRole('heading', { name: 'Enter your code' })).toBeVisible();

  const mail = await waitForMail(request, { to: users.requester.email, subject: 'Your sign-in code', since });
  await page.getByLabel('Code').fill(extractOtp(mail));
  await page.getByRole('button', { name: 'Verify' }).click();

  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
  await expect(page.getByText(`Signed in as ${users.requester.email}`)).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('dashboard.png') });
  await page.context().storageState({ path: authFile('requester') });
});

setup('02 magic link login', async ({ page, request }) => {
  // A fresh context (no cookies): the link must sign in on its own.
  await page.goto('/login');
  await page.getByLabel('Email').fill(users.head.email);
  const since = new Date();
  await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
  await expect(page.getByRole('heading', { name: 'Check your email' })).toBeVisible();

  const mail = await waitForMail(request, { to: users.head.email, subject: 'Your sign-in link', since });
  const link = extractLink(mail, { text: 'Sign in to Demo Helpdesk' });
  await page.goto(link);
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByText(`Signed in as ${users.head.email}`)).toBeVisible();

  // The link is single-use: opening it again must say so, not sign in or crash.
  await page.goto(link);
  await expect(page.getByRole('heading', { name: 'already been used' })).toBeVisible();
  await page.context().storageState({ path: authFile('head') });
});
