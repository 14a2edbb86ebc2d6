// The notification inputs every gate action declares, read and checked in
// one place. Secrets (the bot token, the webhook URL and secret) are never
// echoed in a configuration error. QG_TELEGRAM_API_URL points the Telegram
// client at another Bot API server (a local one in tests, a self-hosted
// telegram-bot-api).

import { ConfigurationError } from '../../core/src/errors.ts';
import { readInteger, readString, type InputSource } from '../../core/src/inputs.ts';
import { DEFAULT_DEFER_THRESHOLD } from './alerts.ts';
import { TELEGRAM_API_URL, type TelegramTarget } from './telegram.ts';
import type { WebhookTarget } from './webhook.ts';

export const NOTIFY_INPUTS = {
  telegramBotToken: 'telegram-bot-token',
  telegramChatId: 'telegram-chat-id',
  webhookUrl: 'webhook-url',
  webhookSecret: 'webhook-secret',
  deferAlertAfter: 'defer-alert-after'
} as const;

export const TELEGRAM_API_URL_ENV = 'QG_TELEGRAM_API_URL';

export interface NotifyConfig {
  telegram?: Required<TelegramTarget>;
  webhook?: WebhookTarget;
  /** Alert on the n-th consecutive DEFER of a branch and after. */
  deferAlertAfter: number;
}

const I = NOTIFY_INPUTS;

export function readNotifyConfig(
  src: InputSource,
  env: NodeJS.ProcessEnv = process.env
): NotifyConfig {
  const cfg: NotifyConfig = {
    deferAlertAfter: readInteger(src, I.deferAlertAfter, DEFAULT_DEFER_THRESHOLD, 1, 1000)
  };
  const token = readString(src, I.telegramBotToken);
  const chatId = readString(src, I.telegramChatId);
  if (token !== '' || chatId !== '') {
    if (chatId === '') {
      throw new ConfigurationError(
        I.telegramChatId,
        `a chat id (a number such as -1001234567890, or @channelname) because '${I.telegramBotToken}' is set`
      );
    }
    if (token === '') {
      throw new ConfigurationError(
        I.telegramBotToken,
        `the bot token from @BotFather because '${I.telegramChatId}' is set`
      );
    }
    if (!/^\d+:[A-Za-z0-9_-]+$/.test(token)) {
      throw new ConfigurationError(
        I.telegramBotToken,
        'a bot token shaped <digits>:<letters, digits, _ or ->'
      );
    }
    if (!/^-?\d{1,20}$/.test(chatId) && !/^@[A-Za-z][A-Za-z0-9_]{3,31}$/.test(chatId)) {
      throw new ConfigurationError(I.telegramChatId, 'a numeric chat id or @channelname', chatId);
    }
    const apiUrl = (env[TELEGRAM_API_URL_ENV] ?? '').trim() || TELEGRAM_API_URL;
    if (!isHttpUrl(apiUrl)) {
      throw new ConfigurationError(
        TELEGRAM_API_URL_ENV,
        'an http(s) URL of a Bot API server',
        apiUrl
      );
    }
    cfg.telegram = { token, chatId, apiUrl };
  }
  const url = readString(src, I.webhookUrl);
  const secret = readString(src, I.webhookSecret);
  if (url !== '') {
    // Not echoed: the URL may carry a secret.
    if (!isHttpUrl(url)) throw new ConfigurationError(I.webhookUrl, 'an http(s) URL');
    cfg.webhook = secret === '' ? { url } : { url, secret };
  } else if (secret !== '') {
    throw new ConfigurationError(
      I.webhookUrl,
      `the webhook URL because '${I.webhookSecret}' is set`
    );
  }
  return cfg;
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}
