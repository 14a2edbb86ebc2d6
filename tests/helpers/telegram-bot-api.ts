// A local Telegram Bot API server on 127.0.0.1 that holds requests to the
// sendMessage contract: POST /bot<token>/sendMessage with a JSON body; an
// unknown token is 401 Unauthorized, an unknown chat 400 "Bad Request: chat
// not found", text in parse_mode HTML must use only the tags and entities
// Telegram supports ("can't parse entities" otherwise). Answers are
// {"ok":true,"result":<Message>} or {"ok":false,"error_code","description"},
// and scripted answers (429 with parameters.retry_after, 500, hang) can be
// queued. Received messages are recorded.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, listenLocal } from './local-http.ts';

export const BOT_TOKEN = '7012345678:AAH-test_bot-token-0123456789abcdefghij';
export const CHAT_ID = -1001234567890;

export interface SentMessage {
  chat_id: unknown;
  text: string;
  parse_mode?: string;
  disable_web_page_preview?: boolean;
}

export type Scripted =
  { status: number; body: unknown } | { hang: true } | { raw: string; status: number };

const TAGS = new Set([
  'b',
  'strong',
  'i',
  'em',
  'u',
  'ins',
  's',
  'strike',
  'del',
  'a',
  'code',
  'pre',
  'tg-spoiler',
  'span',
  'blockquote'
]);

export class FakeBotApi {
  readonly messages: SentMessage[] = [];
  /** Every request path, with the token masked. */
  readonly paths: string[] = [];
  readonly problems: string[] = [];
  private readonly script: Scripted[] = [];
  private readonly server: Server;
  private port = 0;
  private nextId = 1;

  private constructor() {
    this.server = createServer((req, res) => void this.serve(req, res));
  }

  static async start(): Promise<FakeBotApi> {
    const api = new FakeBotApi();
    api.port = await listenLocal(api.server);
    return api;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Answers the next request with this instead of the contract's behaviour. */
  next(answer: Scripted): this {
    this.script.push(answer);
    return this;
  }

  async close(): Promise<void> {
    await closeServer(this.server);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await new Promise<string>((resolve) => {
      let s = '';
      req.on('data', (c: Buffer) => (s += c.toString('utf8')));
      req.on('end', () => resolve(s));
    });
    const path = req.url ?? '/';
    this.paths.push(path.replace(BOT_TOKEN, '<token>'));
    const scripted = this.script.shift();
    if (scripted && 'hang' in scripted) return; // never answers
    if (scripted && 'raw' in scripted) {
      res.writeHead(scripted.status, { 'content-type': 'text/html' });
      res.end(scripted.raw);
      return;
    }
    if (scripted) return this.json(res, scripted.status, scripted.body);
    const m = /^\/bot([^/]+)\/sendMessage$/.exec(path);
    if (!m || req.method !== 'POST') return this.fail(res, 404, 'Not Found');
    if (m[1] !== BOT_TOKEN) return this.fail(res, 401, 'Unauthorized');
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) {
      this.problems.push(`content-type ${req.headers['content-type']}`);
      return this.fail(res, 400, 'Bad Request: message text is empty');
    }
    let msg: SentMessage;
    try {
      msg = JSON.parse(raw) as SentMessage;
    } catch {
      return this.fail(res, 400, 'Bad Request: invalid JSON');
    }
    if (String(msg.chat_id) !== String(CHAT_ID))
      return this.fail(res, 400, 'Bad Request: chat not found');
    if (typeof msg.text !== 'string' || msg.text.trim() === '') {
      return this.fail(res, 400, 'Bad Request: message text is empty');
    }
    if (msg.text.length > 4096) return this.fail(res, 400, 'Bad Request: message is too long');
    if (msg.parse_mode !== undefined && msg.parse_mode !== 'HTML') {
      return this.fail(res, 400, `Bad Request: unsupported parse_mode ${msg.parse_mode}`);
    }
    if (msg.parse_mode === 'HTML') {
      const problem = htmlProblem(msg.text);
      if (problem) return this.fail(res, 400, `Bad Request: can't parse entities: ${problem}`);
    }
    this.messages.push(msg);
    this.json(res, 200, {
      ok: true,
      result: {
        message_id: this.nextId++,
        date: Math.floor(Date.now() / 1000),
        chat: { id: CHAT_ID, type: 'supergroup', title: 'CI' },
        text: msg.text.replace(/<[^>]+>/g, '')
      }
    });
  }

  private fail(res: ServerResponse, code: number, description: string): void {
    this.json(res, code, { ok: false, error_code: code, description });
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}

/** What Telegram's HTML parser would refuse: unsupported tags, bare '<' or '&', unbalanced tags. */
function htmlProblem(text: string): string | undefined {
  const open: string[] = [];
  const token = /<(\/?)([a-z-]+)(\s[^<>]*)?>|&(?:lt|gt|amp|quot|#\d+|#x[0-9a-f]+);|[<>&]/gi;
  for (const m of text.matchAll(token)) {
    if (m[0] === '<' || m[0] === '&' || m[0] === '>') {
      if (m[0] === '>') continue; // Telegram tolerates a bare '>'
      return `Unsupported start tag or entity at byte offset ${m.index}`;
    }
    if (m[2] === undefined) continue; // an entity
    const tag = m[2].toLowerCase();
    if (!TAGS.has(tag)) return `Unsupported start tag "${tag}" at byte offset ${m.index}`;
    if (m[1] === '/') {
      if (open.pop() !== tag)
        return `Unmatched end tag at byte offset ${m.index}, expected "</${tag}>"`;
    } else open.push(tag);
  }
  return open.length > 0
    ? `Can't find end tag corresponding to start tag "${open.at(-1)}"`
    : undefined;
}
