// The notification inputs: both Telegram inputs or neither, a chat id that is
// numeric or @channel, an http(s) webhook URL, a secret only with a URL, and
// defer-alert-after from 1; each error is one line naming the input(s) and
// never echoing a token or a webhook URL.
import { ConfigurationError } from '../../packages/core/src/errors.ts';
import { mapInputSource } from '../../packages/core/src/inputs.ts';
import { readNotifyConfig } from '../../packages/notify/src/config.ts';

const TOKEN = '7012345678:AAH-test_bot-token-0123456789abcdefghij';

function read(values: Record<string, string>, env: NodeJS.ProcessEnv = {}) {
  return readNotifyConfig(mapInputSource(values), env);
}

function error(values: Record<string, string>, env: NodeJS.ProcessEnv = {}): string {
  try {
    read(values, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigurationError);
    const m = (err as Error).message;
    expect(m).not.toContain('\n');
    expect(m).not.toContain(TOKEN);
    return m;
  }
  throw new Error('expected a configuration error');
}

test('nothing configured: no channel, defer alerts after 3', () => {
  expect(read({})).toEqual({ deferAlertAfter: 3 });
});

test('telegram and webhook are read; the Bot API URL defaults to Telegram and can be overridden', () => {
  const values = {
    'telegram-bot-token': TOKEN,
    'telegram-chat-id': '@qg_alerts',
    'webhook-url': 'https://hooks.example/qg',
    'webhook-secret': 's',
    'defer-alert-after': '1'
  };
  expect(read(values)).toEqual({
    deferAlertAfter: 1,
    telegram: { token: TOKEN, chatId: '@qg_alerts', apiUrl: 'https://api.telegram.org' },
    webhook: { url: 'https://hooks.example/qg', secret: 's' }
  });
  expect(read(values, { QG_TELEGRAM_API_URL: 'http://127.0.0.1:8081' }).telegram?.apiUrl).toBe(
    'http://127.0.0.1:8081'
  );
  expect(read({ ...values, 'telegram-chat-id': '-1001234567890' }).telegram?.chatId).toBe(
    '-1001234567890'
  );
});

test('a token without a chat id, or a chat id without a token, names both inputs', () => {
  expect(error({ 'telegram-bot-token': TOKEN })).toBe(
    "input 'telegram-chat-id': expected a chat id (a number such as -1001234567890, or @channelname) because 'telegram-bot-token' is set"
  );
  expect(error({ 'telegram-chat-id': '42' })).toBe(
    "input 'telegram-bot-token': expected the bot token from @BotFather because 'telegram-chat-id' is set"
  );
});

test('malformed values are refused; a token is never echoed', () => {
  expect(error({ 'telegram-bot-token': `${TOKEN}/x`, 'telegram-chat-id': '42' })).toBe(
    "input 'telegram-bot-token': expected a bot token shaped <digits>:<letters, digits, _ or ->"
  );
  expect(error({ 'telegram-bot-token': TOKEN, 'telegram-chat-id': 'general' })).toBe(
    'input \'telegram-chat-id\': expected a numeric chat id or @channelname (got "general")'
  );
  expect(
    error(
      { 'telegram-bot-token': TOKEN, 'telegram-chat-id': '42' },
      { QG_TELEGRAM_API_URL: 'ftp://x' }
    )
  ).toBe(
    'input \'QG_TELEGRAM_API_URL\': expected an http(s) URL of a Bot API server (got "ftp://x")'
  );
});

test('the webhook URL must be http(s) and is never echoed; a secret needs a URL', () => {
  expect(error({ 'webhook-url': 'hooks.example/qg?key=s3cr3t' })).toBe(
    "input 'webhook-url': expected an http(s) URL"
  );
  expect(error({ 'webhook-url': 'file:///etc/passwd' })).toBe(
    "input 'webhook-url': expected an http(s) URL"
  );
  expect(error({ 'webhook-secret': 's' })).toBe(
    "input 'webhook-url': expected the webhook URL because 'webhook-secret' is set"
  );
});

test('defer-alert-after is a whole number from 1', () => {
  expect(error({ 'defer-alert-after': '0' })).toBe(
    'input \'defer-alert-after\': expected a whole number from 1 to 1000 (got "0")'
  );
  expect(error({ 'defer-alert-after': 'three' })).toContain("input 'defer-alert-after'");
});
