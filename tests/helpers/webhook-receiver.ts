// A local webhook receiver on 127.0.0.1 that checks what a careful receiver
// checks: JSON content type, the X-Quality-Gates-Signature HMAC over the
// exact body bytes (compared in constant time) when it knows a secret, and
// records every delivery. Answers can be scripted: a status with optional
// headers (429 + Retry-After), or no answer at all.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, listenLocal } from './local-http.ts';

export interface Delivery {
  path: string;
  headers: IncomingMessage['headers'];
  raw: string;
  body: unknown;
  /** undefined when the receiver has no secret. */
  signatureValid?: boolean;
}

export type ReceiverAnswer = { status: number; headers?: Record<string, string> } | { hang: true };

export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  private readonly script: ReceiverAnswer[] = [];
  private readonly server: Server;
  private readonly secret: string | undefined;
  private port = 0;

  private constructor(secret?: string) {
    this.secret = secret;
    this.server = createServer((req, res) => void this.serve(req, res));
  }

  static async start(secret?: string): Promise<WebhookReceiver> {
    const r = new WebhookReceiver(secret);
    r.port = await listenLocal(r.server);
    return r;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  next(answer: ReceiverAnswer): this {
    this.script.push(answer);
    return this;
  }

  async close(): Promise<void> {
    await closeServer(this.server);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const d: Delivery = {
      path: req.url ?? '/',
      headers: req.headers,
      raw: raw.toString('utf8'),
      body: undefined
    };
    try {
      d.body = JSON.parse(d.raw);
    } catch {
      d.body = undefined;
    }
    if (this.secret !== undefined) {
      const want = Buffer.from(
        `sha256=${createHmac('sha256', this.secret).update(raw).digest('hex')}`
      );
      const got = Buffer.from(String(req.headers['x-quality-gates-signature'] ?? ''));
      d.signatureValid = got.length === want.length && timingSafeEqual(got, want);
    }
    this.deliveries.push(d);
    const answer = this.script.shift();
    if (answer && 'hang' in answer) return;
    if (answer) {
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.status >= 400 ? `error page of ${d.path}` : '');
      return;
    }
    const ok =
      /^application\/json\b/.test(req.headers['content-type'] ?? '') && d.body !== undefined;
    const status = !ok ? 415 : d.signatureValid === false ? 401 : 204;
    res.writeHead(status);
    res.end();
  }
}
