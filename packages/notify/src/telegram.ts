// Telegram's Bot API sendMessage: POST {base}/bot<token>/sendMessage with
// {chat_id, text, parse_mode: 'HTML', disable_web_page_preview: true}. Every
// answer is {"ok": true, "result": …} or {"ok": false, "error_code",
// "description", "parameters"?}; ok:false is a failure with its description
// even under HTTP 200. A 429 names its wait in parameters.retry_after: one
// retry when that is within the bound. The token is part of the URL, so
// neither appears in any message.

import type { FetchLike } from '../../forge/src/fetch-like.ts';
import { redact } from '../../forge/src/redact.ts';
import { NotifyError, postJson, retryWait } from './http-post.ts';

export const TELEGRAM_API_URL = 'https://api.telegram.org';

export interface TelegramTarget {
  token: string;
  /** Numeric id (groups are negative) or @channelusername. */
  chatId: string;
  /** Default https://api.telegram.org (tests: QG_TELEGRAM_API_URL). */
  apiUrl?: string;
}

export interface SendOptions {
  /** Per attempt. Default 10 s. */
  timeoutMs?: number;
  /** Longest server-requested wait honoured once. Default 15 s. */
  maxRetryAfterMs?: number;
  fetch?: FetchLike;
  sleep?: (ms: number) => Promise<void>;
}

interface BotAnswer {
  ok?: unknown;
  error_code?: unknown;
  description?: unknown;
  parameters?: { retry_after?: unknown };
}

/** Sends `html` (Telegram HTML, already escaped) to the chat; rejects with a NotifyError. */
export async function sendTelegram(
  target: TelegramTarget,
  html: string,
  opts: SendOptions = {}
): Promise<void> {
  const base = (target.apiUrl ?? TELEGRAM_API_URL).replace(/\/+$/, '');
  const url = `${base}/bot${target.token}/sendMessage`;
  const secrets = [target.token, url];
  const chatId = /^-?\d+$/.test(target.chatId) ? Number(target.chatId) : target.chatId;
  const body = JSON.stringify({
    chat_id: Number.isSafeInteger(chatId) ? chatId : target.chatId,
    text: html,
    parse_mode: 'HTML',
    disable_web_page_preview: true
  });
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxWait = opts.maxRetryAfterMs ?? 15_000;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    const res = await postJson(url, body, {}, { timeoutMs, fetch: opts.fetch, secrets });
    let answer: BotAnswer | undefined;
    try {
      answer = JSON.parse(res.text) as BotAnswer;
    } catch {
      answer = undefined;
    }
    if (answer?.ok === true && res.status >= 200 && res.status < 300) return;
    if (answer === undefined || typeof answer !== 'object' || answer === null) {
      throw new NotifyError(`HTTP ${res.status} without a Bot API answer`, res.status);
    }
    const code = typeof answer.error_code === 'number' ? answer.error_code : res.status;
    const wait = code === 429 ? retryWait(answer.parameters?.retry_after, maxWait) : undefined;
    if (wait !== undefined && attempt === 1) {
      await sleep(wait);
      continue;
    }
    const text = typeof answer.description === 'string' ? answer.description : 'no description';
    const said = redact(text.replace(/\s+/g, ' ').slice(0, 200), secrets);
    throw new NotifyError(`error ${code}: ${said}${hint(code, attempt)}`, code);
  }
}

function hint(code: number, attempt: number): string {
  if (code === 401 || code === 404) return ' (check telegram-bot-token)';
  if (code === 400) return ' (check telegram-chat-id, and that the bot was added to the chat)';
  if (code === 403) return ' (the bot may not post in this chat)';
  if (code === 429)
    return attempt > 1
      ? ' (still rate limited after one retry)'
      : ' (rate limited longer than this step waits)';
  return '';
}
