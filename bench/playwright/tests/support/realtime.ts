// Listening to the helpdesk's realtime channels from the test process, as the signed-in user:
// a Pusher-protocol websocket (what Laravel Reverb speaks) and the SSE stream.
import { expect, type APIRequestContext, type BrowserContext } from '@playwright/test';
import WebSocket from 'ws';

export interface RealtimeEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Collects events until closed; `waitFor` polls the collected ones. */
abstract class Listener {
  readonly events: RealtimeEvent[] = [];
  abstract close(): void;

  async waitFor(event: string, match: (data: Record<string, unknown>) => boolean = () => true, timeout = 10_000) {
    let hit: RealtimeEvent | undefined;
    await expect
      .poll(() => (hit = this.events.find((e) => e.event === event && match(e.data))) !== undefined, {
        message: `${this.constructor.name}: event ${event}`,
        timeout,
        intervals: [50, 100, 250],
      })
      .toBe(true);
    return hit!;
  }
}

export class PusherListener extends Listener {
  private constructor(private ws: WebSocket) {
    super();
  }

  /**
   * Connects to ws(s)://HOST/app/KEY, authorises `channel` at /broadcasting/auth with the
   * user's cookies (`api` is that user's request context), subscribes and starts collecting.
   */
  static async subscribe(baseURL: string, key: string, channel: string, api: APIRequestContext): Promise<PusherListener> {
    const url = new URL(`/app/${key}?protocol=7&client=js&version=8.4.0&flash=false`, baseURL);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url);
    const listener = new PusherListener(ws);
    const frames: Array<{ event: string; channel?: string; data: unknown }> = [];
    let wake: (() => void) | undefined;
    ws.on('message', (buf) => {
      const frame = JSON.parse(buf.toString()) as { event: string; channel?: string; data: unknown };
      frames.push(frame);
      if (frame.channel === channel && !frame.event.startsWith('pusher')) {
        const data = typeof frame.data === 'string' ? JSON.parse(frame.data) : frame.data;
        listener.events.push({ event: frame.event, data: data as Record<string, unknown> });
      }
      wake?.();
    });
    const next = async (event: string) => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const f = frames.find((x) => x.event === event || x.event === 'pusher:error');
        if (f) {
          if (f.event === 'pusher:error') throw new Error(`pusher error: ${JSON.stringify(f.data)}`);
          return f;
        }
        if (Date.now() > deadline) throw new Error(`no ${event} frame within 10 s`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 250);
        });
      }
    };
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const established = await next('pusher:connection_established');
    const socketId = (JSON.parse(established.data as string) as { socket_id: string }).socket_id;
    const auth = await api.post('/broadcasting/auth', { data: { socket_id: socketId, channel_name: channel } });
    expect(auth.status(), 'POST /broadcasting/auth').toBe(200);
    const { auth: signature } = (await auth.json()) as { auth: string };
    ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel, auth: signature } }));
    await next('pusher_internal:subscription_succeeded');
    return listener;
  }

  close() {
    this.ws.close();
  }
}

export class SseListener extends Listener {
  private constructor(private abort: AbortController) {
    super();
  }

  /** Opens the SSE stream with the context's cookies and resolves once `event: ready` arrived. */
  static async open(baseURL: string, path: string, context: BrowserContext): Promise<SseListener> {
    const url = new URL(path, baseURL);
    const cookies = (await context.cookies(url.toString())).map((c) => `${c.name}=${c.value}`).join('; ');
    const abort = new AbortController();
    const res = await fetch(url, { headers: { Accept: 'text/event-stream', Cookie: cookies }, signal: abort.signal });
    expect(res.status, `GET ${path}`).toBe(200);
    expect(res.headers.get('content-type') ?? '').toContain('text/event-stream');
    const listener = new SseListener(abort);
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
            let event = 'message';
            const data: string[] = [];
            for (const line of block.split(/\r?\n/)) {
              if (line.startsWith('event:')) event = line.slice(6).trim();
              else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
            }
            if (data.length === 0) continue; // a comment (heartbeat)
            listener.events.push({ event, data: JSON.parse(data.join('\n')) as Record<string, unknown> });
            if (event === 'ready') ready();
          }
        }
      } catch {
        // aborted by close()
      }
    })();
    await isReady;
    return listener;
  }

  close() {
    this.abort.abort();
  }
}
