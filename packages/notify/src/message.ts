// The words of an alert: one headline line and the summary, as Telegram
// HTML (escaped, with a link to the run). Telegram refuses texts over 4096
// characters; the summary is cut well before that.

import { oneLine } from '../../core/src/verdict.ts';
import type { Alert } from './alerts.ts';

const MAX_SUMMARY = 1500;

export function alertHeadline(a: Alert): string {
  const where = `${a.repository || 'repository'} ${a.branch || '(unknown branch)'}${a.sha ? ` @ ${a.sha.slice(0, 12)}` : ''}`;
  switch (a.kind) {
    case 'fail':
      return oneLine(`quality-gates: ${a.gate} FAIL on ${where}`);
    case 'defer':
      return oneLine(
        `quality-gates: ${a.gate} deferred${a.deferCount ? ` ${a.deferCount} times in a row` : ''} on ${where}`
      );
    case 'infra':
      return oneLine(`quality-gates: infrastructure alert from ${a.gate} on ${where}`);
    case 'tamper':
      return oneLine(
        `quality-gates: state tampering detected by ${a.gate} (${a.verdict}) on ${where}`
      );
  }
}

export function alertHtml(a: Alert): string {
  const lines = [
    `<b>${escapeHtml(alertHeadline(a))}</b>`,
    escapeHtml(oneLine(a.summary, MAX_SUMMARY))
  ];
  if (httpLink(a.runUrl)) lines.push(`<a href="${escapeHtml(a.runUrl!)}">run</a>`);
  return lines.filter((l) => l !== '').join('\n');
}

/** Telegram's HTML mode knows &lt; &gt; &amp; &quot; and nothing else. */
export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

function httpLink(url: string | undefined): boolean {
  return url !== undefined && /^https?:\/\/\S+$/.test(url);
}
