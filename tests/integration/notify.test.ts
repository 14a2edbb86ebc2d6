// Alerts against local servers that behave like Telegram's Bot API and like
// a careful webhook receiver: what is sent (exact JSON, escaped HTML, the
// HMAC signature), Bot API failures with their description, one bounded
// retry on 429, and servers that are down, hang or answer 500: always a
// warning naming the channel, never a throw, never the token, URL or secret.
import { createServer } from 'node:net';
import { RecordingLogger } from '../../packages/core/src/logger.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import type { Alert } from '../../packages/notify/src/alerts.ts';
import { readNotifyConfig, type NotifyConfig } from '../../packages/notify/src/config.ts';
import { notify } from '../../packages/notify/src/notify.ts';
import { sendTelegram } from '../../packages/notify/src/telegram.ts';
import { BOT_TOKEN, CHAT_ID, FakeBotApi } from '../helpers/telegram-bot-api.ts';
import { WebhookReceiver } from '../helpers/webhook-receiver.ts';

const SECRET = 'whsec_5f2b9c1e7d3a';
const ALERT: Alert = {
  kind: 'fail',
  repository: 'acme/app',
  branch: 'feature/login',
  gate: 'coverage',
  verdict: 'FAIL',
  summary: 'coverage 79.50% < baseline 80.00% in <src/a&b.ts> "x"',
  sha: '3f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a',
  runUrl: 'https://git.example/acme/app/actions/runs/17?x=1&y=2',
  at: '2025-06-01T10:00:00.000Z'
};

let bot: FakeBotApi;
let hook: WebhookReceiver;
let logger: RecordingLogger;
let sleeps: number[];

beforeEach(async () => {
  bot = await FakeBotApi.start();
  hook = await WebhookReceiver.start(SECRET);
  logger = new RecordingLogger();
  sleeps = [];
});

afterEach(async () => {
  await bot.close();
  await hook.close();
});

const sleep = async (ms: number): Promise<void> => {
  sleeps.push(ms);
};

function telegramOnly(p: Partial<NonNullable<NotifyConfig['telegram']>> = {}): NotifyConfig {
  return {
    deferAlertAfter: 3,
    telegram: { token: BOT_TOKEN, chatId: String(CHAT_ID), apiUrl: bot.url, ...p }
  };
}

function webhookOnly(url: string, secret: string | null = SECRET): NotifyConfig {
  return { deferAlertAfter: 3, webhook: secret === null ? { url } : { url, secret } };
}

/** Nothing secret in the warnings or anywhere in the log. */
function expectNoSecrets(warnings: string[], extra: string[] = []): void {
  const text = `${warnings.join('\n')}\n${logger.text()}`;
  for (const s of [BOT_TOKEN, BOT_TOKEN.split(':')[1], '/bot', SECRET, ...extra]) {
    expect(text).not.toContain(s);
  }
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('telegram', () => {
  test('sendMessage carries chat id, escaped HTML, parse mode and no preview', async () => {
    const r = await notify(ALERT, telegramOnly(), logger, { sleep });
    expect(r).toEqual({ sent: ['telegram'], warnings: [] });
    expect(bot.paths).toEqual(['/bot<token>/sendMessage']);
    expect(bot.problems).toEqual([]);
    expect(bot.messages).toHaveLength(1);
    const m = bot.messages[0];
    expect(m.chat_id).toBe(CHAT_ID);
    expect(m.parse_mode).toBe('HTML');
    expect(m.disable_web_page_preview).toBe(true);
    expect(m.text).toBe(
      [
        '<b>quality-gates: coverage FAIL on acme/app feature/login @ 3f1c2a9b8d7e</b>',
        'coverage 79.50% &lt; baseline 80.00% in &lt;src/a&amp;b.ts&gt; &quot;x&quot;',
        '<a href="https://git.example/acme/app/actions/runs/17?x=1&amp;y=2">run</a>'
      ].join('\n')
    );
    expect(logger.text()).toContain('fail alert sent to telegram');
  });

  test('hostile text is escaped so the Bot API accepts it', async () => {
    const hostile = {
      ...ALERT,
      branch: 'x<script>',
      summary: '</b><i>& broken <a href="javascript:x">'
    };
    const r = await notify(hostile, telegramOnly(), logger, { sleep });
    expect(r.sent).toEqual(['telegram']);
    expect(bot.messages[0].text).toContain(
      '&lt;/b&gt;&lt;i&gt;&amp; broken &lt;a href=&quot;javascript:x&quot;&gt;'
    );
  });

  test('ok:false answers are a warning with the description, not a throw', async () => {
    const r = await notify(ALERT, telegramOnly({ chatId: '-1009999' }), logger, { sleep });
    expect(r.sent).toEqual([]);
    expect(r.warnings).toEqual([
      'fail alert not sent to telegram: error 400: Bad Request: chat not found (check telegram-chat-id, and that the bot was added to the chat)'
    ]);
    expect(logger.entries.filter((e) => e.level === 'warning').map((e) => e.message)).toEqual(
      r.warnings
    );
    expectNoSecrets(r.warnings);
  });

  test('a rejected token says which input to check and never shows the token', async () => {
    const wrong = '7012345678:AAH-revoked-token-zzzzzzzzzzzzzzzz';
    const r = await notify(ALERT, telegramOnly({ token: wrong }), logger, { sleep });
    expect(r.warnings).toEqual([
      'fail alert not sent to telegram: error 401: Unauthorized (check telegram-bot-token)'
    ]);
    expectNoSecrets(r.warnings, [wrong, 'revoked']);
  });

  test('429 with retry_after is retried once after the asked wait', async () => {
    bot.next({
      status: 429,
      body: {
        ok: false,
        error_code: 429,
        description: 'Too Many Requests: retry after 2',
        parameters: { retry_after: 2 }
      }
    });
    const r = await notify(ALERT, telegramOnly(), logger, { sleep });
    expect(r).toEqual({ sent: ['telegram'], warnings: [] });
    expect(sleeps).toEqual([2000]);
    expect(bot.paths).toHaveLength(2);
    expect(bot.messages).toHaveLength(1);
  });

  test('429 asking for longer than the bound, or twice, is a warning', async () => {
    const limited = (s: number) => ({
      status: 429,
      body: {
        ok: false,
        error_code: 429,
        description: `Too Many Requests: retry after ${s}`,
        parameters: { retry_after: s }
      }
    });
    bot.next(limited(120));
    let r = await notify(ALERT, telegramOnly(), logger, { sleep });
    expect(r.warnings).toEqual([
      'fail alert not sent to telegram: error 429: Too Many Requests: retry after 120 (rate limited longer than this step waits)'
    ]);
    expect(sleeps).toEqual([]);
    bot.next(limited(1)).next(limited(1));
    r = await notify(ALERT, telegramOnly(), logger, { sleep });
    expect(r.warnings[0]).toContain('(still rate limited after one retry)');
    expect(sleeps).toEqual([1000]);
    expect(bot.messages).toHaveLength(0);
  });

  test('a server that answers 500 with an HTML page is a warning', async () => {
    bot.next({ status: 500, raw: '<html>Internal Server Error</html>' });
    const r = await notify(ALERT, telegramOnly(), logger, { sleep });
    expect(r.warnings).toEqual([
      'fail alert not sent to telegram: HTTP 500 without a Bot API answer'
    ]);
    expectNoSecrets(r.warnings);
  });

  test('a server that hangs is a timeout warning', async () => {
    bot.next({ hang: true });
    const started = Date.now();
    const r = await notify(ALERT, telegramOnly(), logger, { sleep, timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.warnings).toEqual(['fail alert not sent to telegram: no answer within 0.3 s']);
  });

  test('a server that is down is a network warning without the URL', async () => {
    const port = await closedPort();
    const r = await notify(ALERT, telegramOnly({ apiUrl: `http://127.0.0.1:${port}` }), logger, {
      sleep
    });
    expect(r.warnings).toEqual(['fail alert not sent to telegram: network error: ECONNREFUSED']);
    expectNoSecrets(r.warnings, [String(port)]);
  });

  test('sendTelegram itself rejects with one line and no token', async () => {
    await expect(
      sendTelegram({ token: BOT_TOKEN, chatId: '-1', apiUrl: bot.url }, 'hi', { sleep })
    ).rejects.toThrow(/^error 400: Bad Request: chat not found/);
  });
});

describe('webhook', () => {
  test('the payload carries every field and a valid HMAC signature', async () => {
    const r = await notify(ALERT, webhookOnly(`${hook.origin}/hooks/qg`), logger, { sleep });
    expect(r).toEqual({ sent: ['webhook'], warnings: [] });
    expect(hook.deliveries).toHaveLength(1);
    const d = hook.deliveries[0];
    expect(d.signatureValid).toBe(true);
    expect(d.headers['x-quality-gates-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(d.headers['x-quality-gates-delivery']).toMatch(/^[0-9a-f-]{36}$/);
    expect(d.headers['content-type']).toBe('application/json');
    expect(d.body).toEqual({
      event: 'quality-gates.alert',
      kind: 'fail',
      repository: 'acme/app',
      branch: 'feature/login',
      gate: 'coverage',
      verdict: 'FAIL',
      summary: ALERT.summary,
      sha: ALERT.sha,
      run_url: ALERT.runUrl,
      at: '2025-06-01T10:00:00.000Z'
    });
    expect(logger.text()).toContain(`fail alert sent to webhook (${new URL(hook.origin).host})`);
  });

  test('a receiver with another secret refuses the signature', async () => {
    const r = await notify(ALERT, webhookOnly(`${hook.origin}/h`, 'another-secret'), logger, {
      sleep
    });
    expect(hook.deliveries[0].signatureValid).toBe(false);
    expect(r.warnings).toEqual([
      `fail alert not sent to webhook (${new URL(hook.origin).host}): HTTP 401`
    ]);
    expectNoSecrets(r.warnings, ['another-secret']);
  });

  test('without a secret no signature header is sent; no run URL is null', async () => {
    const open = await WebhookReceiver.start();
    try {
      const alert: Alert = { ...ALERT, kind: 'defer', runUrl: '' };
      const r = await notify(alert, webhookOnly(`${open.origin}/h`, null), logger, { sleep });
      expect(r).toEqual({ sent: ['webhook'], warnings: [] });
      expect(open.deliveries[0].headers['x-quality-gates-signature']).toBeUndefined();
      expect(open.deliveries[0].body).toMatchObject({ kind: 'defer', run_url: null });
    } finally {
      await open.close();
    }
  });

  test('a 500 is a warning naming the host only: no path, query or secret', async () => {
    hook.next({ status: 500 });
    const url = `${hook.origin}/services/T000/B000/xoxsecretpath?token=q-s3cr3t`;
    const r = await notify(ALERT, webhookOnly(url), logger, { sleep });
    expect(r.warnings).toEqual([
      `fail alert not sent to webhook (${new URL(hook.origin).host}): HTTP 500`
    ]);
    expectNoSecrets(r.warnings, ['xoxsecretpath', 'q-s3cr3t', '/services']);
    expect(hook.deliveries[0].path).toBe('/services/T000/B000/xoxsecretpath?token=q-s3cr3t');
  });

  test('user and password in the URL travel as Basic authorization, never in a message', async () => {
    hook.next({ status: 503 });
    const url = `http://ci-bot:p%40ss-w0rd@127.0.0.1:${new URL(hook.origin).port}/h`;
    const r = await notify(ALERT, webhookOnly(url), logger, { sleep });
    expect(hook.deliveries[0].headers.authorization).toBe(
      `Basic ${Buffer.from('ci-bot:p@ss-w0rd').toString('base64')}`
    );
    expect(r.warnings[0]).toMatch(/HTTP 503$/);
    expectNoSecrets(r.warnings, ['p@ss', 'p%40ss', 'ci-bot']);
  });

  test('429 with Retry-After is retried once with the same delivery id', async () => {
    hook.next({ status: 429, headers: { 'retry-after': '1' } });
    const r = await notify(ALERT, webhookOnly(`${hook.origin}/h`), logger, { sleep });
    expect(r.sent).toEqual(['webhook']);
    expect(sleeps).toEqual([1000]);
    expect(hook.deliveries).toHaveLength(2);
    expect(hook.deliveries[1].headers['x-quality-gates-delivery']).toBe(
      hook.deliveries[0].headers['x-quality-gates-delivery']
    );
  });

  test('a redirect is not followed', async () => {
    hook.next({ status: 302, headers: { location: 'https://elsewhere.example/' } });
    const r = await notify(ALERT, webhookOnly(`${hook.origin}/h`), logger, { sleep });
    expect(r.warnings[0]).toContain('HTTP 302: redirects are not followed');
    expect(hook.deliveries).toHaveLength(1);
  });

  test('a receiver that hangs or is down is a warning', async () => {
    hook.next({ hang: true });
    let r = await notify(ALERT, webhookOnly(`${hook.origin}/h?k=s3cr3t`), logger, {
      sleep,
      timeoutMs: 300
    });
    expect(r.warnings).toEqual([
      `fail alert not sent to webhook (${new URL(hook.origin).host}): no answer within 0.3 s`
    ]);
    const port = await closedPort();
    r = await notify(ALERT, webhookOnly(`http://127.0.0.1:${port}/h?k=s3cr3t`), logger, { sleep });
    expect(r.warnings).toEqual([
      `fail alert not sent to webhook (127.0.0.1:${port}): network error: ECONNREFUSED`
    ]);
    expectNoSecrets(r.warnings, ['s3cr3t']);
  });
});

describe('every channel', () => {
  test('one channel failing does not stop the other', async () => {
    const cfg: NotifyConfig = {
      ...telegramOnly({ chatId: '-42' }),
      webhook: { url: `${hook.origin}/h`, secret: SECRET }
    };
    const r = await notify({ ...ALERT, kind: 'infra', gate: 'merge' }, cfg, logger, { sleep });
    expect(r.sent).toEqual(['webhook']);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(
      /^infra alert not sent to telegram: error 400: Bad Request: chat not found/
    );
    expect(hook.deliveries[0].body).toMatchObject({ kind: 'infra', gate: 'merge' });
  });

  test('from action inputs, with QG_TELEGRAM_API_URL pointing at the local Bot API', async () => {
    const cfg = readNotifyConfig(
      mapInputSource({
        'telegram-bot-token': BOT_TOKEN,
        'telegram-chat-id': String(CHAT_ID),
        'webhook-url': `${hook.origin}/h`,
        'webhook-secret': SECRET,
        'defer-alert-after': '5'
      }),
      { QG_TELEGRAM_API_URL: bot.url }
    );
    expect(cfg.deferAlertAfter).toBe(5);
    const r = await notify(
      { ...ALERT, kind: 'defer', verdict: 'DEFER', deferCount: 5 },
      cfg,
      logger,
      { sleep }
    );
    expect(r).toEqual({ sent: ['telegram', 'webhook'], warnings: [] });
    expect(bot.messages[0].text).toContain(
      'coverage deferred 5 times in a row on acme/app feature/login'
    );
    expect(hook.deliveries[0].signatureValid).toBe(true);
  });

  test('no channel configured sends nothing', async () => {
    expect(await notify(ALERT, { deferAlertAfter: 3 }, logger)).toEqual({ sent: [], warnings: [] });
  });
});
