// A generic JSON webhook: POST {event: 'quality-gates.alert', kind,
// repository, branch, gate, verdict, summary, sha, run_url, at}. With a
// secret, X-Quality-Gates-Signature: sha256=<hex HMAC-SHA256 of the exact
// body bytes>, as GitHub and Gitea sign their own webhooks; receivers should
// compare it in constant time. X-Quality-Gates-Delivery is a fresh id per
// alert (kept on the one retry) so a receiver can drop a duplicate. User
// and password in the URL travel as Basic authorization (fetch refuses
// them in the URL). Messages name the host only: webhook URLs often carry
// their secret in the path or the query.

import { createHmac, randomUUID } from 'node:crypto';
import type { Alert } from './alerts.ts';
import { NotifyError, postJson, retryWait } from './http-post.ts';
import type { SendOptions } from './telegram.ts';

export const WEBHOOK_EVENT = 'quality-gates.alert';
export const SIGNATURE_HEADER = 'x-quality-gates-signature';
export const DELIVERY_HEADER = 'x-quality-gates-delivery';

export interface WebhookTarget {
  url: string;
  secret?: string;
}

export function webhookPayload(a: Alert): Record<string, unknown> {
  return {
    event: WEBHOOK_EVENT,
    kind: a.kind,
    repository: a.repository,
    branch: a.branch,
    gate: a.gate,
    verdict: a.verdict,
    summary: a.summary,
    sha: a.sha,
    run_url: a.runUrl ? a.runUrl : null,
    at: a.at
  };
}

export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** Where the webhook points, safe to print: its host. */
export function webhookHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an unparsable URL';
  }
}

export async function sendWebhook(
  target: WebhookTarget,
  alert: Alert,
  opts: SendOptions = {}
): Promise<void> {
  const u = new URL(target.url);
  const headers: Record<string, string> = { [DELIVERY_HEADER]: randomUUID() };
  if (u.username !== '' || u.password !== '') {
    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    u.username = '';
    u.password = '';
  }
  const body = JSON.stringify(webhookPayload(alert));
  if (target.secret) headers[SIGNATURE_HEADER] = webhookSignature(target.secret, body);
  const secrets = [target.url, u.toString(), u.search, u.pathname, target.secret ?? ''].filter(
    (s) => s.length > 1
  );
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxWait = opts.maxRetryAfterMs ?? 15_000;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    const res = await postJson(u.toString(), body, headers, {
      timeoutMs,
      fetch: opts.fetch,
      secrets
    });
    if (res.status >= 200 && res.status < 300) return;
    const wait =
      res.status === 429 ? retryWait(res.headers.get('retry-after'), maxWait) : undefined;
    if (wait !== undefined && attempt === 1) {
      await sleep(wait);
      continue;
    }
    if (res.status >= 300 && res.status < 400) {
      throw new NotifyError(
        `HTTP ${res.status}: redirects are not followed; configure the final URL`,
        res.status
      );
    }
    throw new NotifyError(`HTTP ${res.status}`, res.status);
  }
}
