// Flow 14: the requester signs out; protected pages then send them to the login page.
// Its own project, after `helpdesk`: signing out ends the session the other flows share.
import { test, expect } from '@playwright/test';
import { authFile } from './support/env';

test.use({ storageState: authFile('requester') });

test('14 logout', async ({ page }) => {
  await page.goto('/dashboard');
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByRole('status')).toContainText('You have been signed out');
  await page.goto('/dashboard');
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
});
