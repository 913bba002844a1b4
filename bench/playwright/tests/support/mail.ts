// Reading mail through the helpdesk's staging mail report:
//   GET /staging/e2e/mail-report?emails=a@x[&since=RFC3339]   (header X-Staging-E2E-Secret)
// The report carries each captured message's raw RFC 5322 source; the code and links are parsed
// out of that source here (the pre-extracted `otp` / `magic_url` fields are only a cross-check).
import { expect, type APIRequestContext } from '@playwright/test';
import { stagingHeaders } from './env';

export interface CapturedMail {
  id: string;
  to: string;
  subject: string;
  received_at: string;
  raw: string;
  otp: string | null;
  magic_url: string | null;
}

interface MailReport {
  mailboxes: Record<string, CapturedMail[]>;
}

/**
 * Polls the mail report until a message to `to` whose subject matches arrives at or after
 * `since`; returns the newest such message.
 */
export async function waitForMail(
  request: APIRequestContext,
  opts: { to: string; subject: string | RegExp; since: Date; timeout?: number },
): Promise<CapturedMail> {
  const matches = (m: CapturedMail) =>
    typeof opts.subject === 'string' ? m.subject === opts.subject : opts.subject.test(m.subject);
  let found: CapturedMail | undefined;
  await expect
    .poll(
      async () => {
        const res = await request.get('/staging/e2e/mail-report', {
          params: { emails: opts.to, since: new Date(opts.since.getTime() - 1000).toISOString() },
          headers: stagingHeaders(),
        });
        expect(res.status(), 'mail report status').toBe(200);
        const report = (await res.json()) as MailReport;
        const box = Object.entries(report.mailboxes).find(([k]) => k.toLowerCase() === opts.to.toLowerCase())?.[1] ?? [];
        found = box.filter((m) => matches(m) && Date.parse(m.received_at) >= opts.since.getTime() - 1000).at(-1);
        return found !== undefined;
      },
      { message: `mail to ${opts.to} with subject ${String(opts.subject)}`, timeout: opts.timeout ?? 30_000 },
    )
    .toBe(true);
  return found!;
}

// ---------------------------------------------------------------------------------------------
// A small MIME reader: headers, multipart bodies, quoted-printable / base64, HTML entities.

interface Part {
  headers: Record<string, string>;
  body: string;
}

function splitHeaders(raw: string): Part {
  const sep = raw.search(/\r?\n\r?\n/);
  const head = sep < 0 ? raw : raw.slice(0, sep);
  const body = sep < 0 ? '' : raw.slice(sep).replace(/^\r?\n\r?\n/, '');
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, body };
}

function decodeBody(part: Part): string {
  const enc = (part.headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  if (enc === 'base64') return Buffer.from(part.body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (enc === 'quoted-printable') {
    const bytes = part.body
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => `%${h}`)
      .replace(/%(?![0-9A-Fa-f]{2})/g, '%25');
    try {
      return decodeURIComponent(bytes);
    } catch {
      return bytes;
    }
  }
  return part.body;
}

function leafParts(part: Part): Part[] {
  const type = part.headers['content-type'] ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (!/^multipart\//i.test(type) || !boundary) return [part];
  const chunks = part.body.split(`--${boundary}`).slice(1);
  const out: Part[] = [];
  for (const chunk of chunks) {
    if (chunk.startsWith('--')) break;
    out.push(...leafParts(splitHeaders(chunk.replace(/^\r?\n/, ''))));
  }
  return out;
}

/** The decoded text/plain and text/html bodies of a raw message. */
export function parseMail(raw: string): { subject: string; text: string; html: string } {
  const top = splitHeaders(raw);
  let text = '';
  let html = '';
  for (const p of leafParts(top)) {
    const type = (p.headers['content-type'] ?? 'text/plain').toLowerCase();
    if (type.startsWith('text/html')) html += decodeBody(p);
    else if (type.startsWith('text/plain')) text += decodeBody(p);
  }
  return { subject: top.headers['subject'] ?? '', text, html };
}

const decodeEntities = (s: string) =>
  s
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;/g, "'");

/** The six-digit sign-in code in the message's text. */
export function extractOtp(mail: CapturedMail): string {
  const { text, html } = parseMail(mail.raw);
  const code = /\b(\d{6})\b/.exec(text)?.[1] ?? /\b(\d{6})\b/.exec(html.replace(/<[^>]+>/g, ' '))?.[1];
  if (!code) throw new Error(`no code in mail "${mail.subject}"`);
  if (mail.otp && mail.otp !== code) throw new Error('the code in the raw mail differs from the reported otp');
  return code;
}

/** The href of the link whose text matches `linkText` (HTML part), else the first URL matching `urlPattern`. */
export function extractLink(mail: CapturedMail, want: { text?: string | RegExp; url?: RegExp }): string {
  const { text, html } = parseMail(mail.raw);
  if (want.text) {
    for (const m of html.matchAll(/<a\b[^>]*\bhref="([^"]+)"[^>]*>([\s\S]*?)<\/a>/gi)) {
      const label = decodeEntities(m[2].replace(/<[^>]+>/g, '')).replace(/\s+/g, ' ').trim();
      const ok = typeof want.text === 'string' ? label.includes(want.text) : want.text.test(label);
      if (ok) return decodeEntities(m[1]);
    }
  }
  const urls = [...text.matchAll(/https?:\/\/[^\s<>"]+/g), ...html.matchAll(/href="([^"]+)"/g)].map((m) =>
    decodeEntities(m[1] ?? m[0]).replace(/[.,;:!?)\]]+$/, ''),
  );
  const url = urls.find((u) => (want.url ? want.url.test(u) : true));
  if (!url) throw new Error(`no matching link in mail "${mail.subject}"`);
  return url;
}
