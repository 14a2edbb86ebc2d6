// Sends one alert to every configured channel, side by side, and never
// throws: a channel that fails becomes one warning line naming the channel
// and the reason (never its token, URL or secret), and the others still get
// the alert. Warnings are logged here and returned for the caller's report.

import { describeError } from '../../core/src/errors.ts';
import type { Logger } from '../../core/src/logger.ts';
import { redact } from '../../forge/src/redact.ts';
import type { Alert } from './alerts.ts';
import type { NotifyConfig } from './config.ts';
import { alertHtml } from './message.ts';
import { sendTelegram, type SendOptions } from './telegram.ts';
import { sendWebhook, webhookHost } from './webhook.ts';

export interface NotifyResult {
  /** Channels that accepted the alert: 'telegram', 'webhook'. */
  sent: string[];
  warnings: string[];
}

export async function notify(
  alert: Alert,
  config: NotifyConfig,
  logger: Logger,
  opts: SendOptions = {}
): Promise<NotifyResult> {
  const result: NotifyResult = { sent: [], warnings: [] };
  const secrets = [
    config.telegram?.token ?? '',
    config.webhook?.url ?? '',
    config.webhook?.secret ?? ''
  ];
  const attempt = async (
    channel: string,
    label: string,
    send: () => Promise<void>
  ): Promise<void> => {
    try {
      await send();
      result.sent.push(channel);
      logger.info(`${alert.kind} alert sent to ${label}`);
    } catch (err) {
      const line = redact(
        `${alert.kind} alert not sent to ${label}: ${describeError(err)}`,
        secrets
      );
      result.warnings.push(line);
      logger.warning(line);
    }
  };
  const jobs: Promise<void>[] = [];
  const telegram = config.telegram;
  if (telegram)
    jobs.push(
      attempt('telegram', 'telegram', () => sendTelegram(telegram, alertHtml(alert), opts))
    );
  const webhook = config.webhook;
  if (webhook) {
    jobs.push(
      attempt('webhook', `webhook (${webhookHost(webhook.url)})`, () =>
        sendWebhook(webhook, alert, opts)
      )
    );
  }
  await Promise.all(jobs);
  result.sent.sort();
  return result;
}
