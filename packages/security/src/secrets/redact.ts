// Masking secrets in free text a gate is about to publish (a failing test's
// output in a report). Two nets: the values of environment variables whose
// names say they are secret, and whatever the embedded rules recognise.

import { detectInText } from './scan.ts';

export const REDACTED = '[REDACTED]';
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE|CREDENTIAL|AUTH/i;

export async function redactText(text: string, env: NodeJS.ProcessEnv): Promise<string> {
  let out = text;
  const values = Object.entries(env)
    .filter(([k, v]) => SECRET_NAME.test(k) && typeof v === 'string' && v.length >= 6)
    .map(([, v]) => v as string)
    .sort((a, b) => b.length - a.length);
  for (const v of values) out = out.split(v).join(REDACTED);
  const hits = (await detectInText(out)).sort((a, b) => b.start - a.start);
  for (const h of hits) out = out.slice(0, h.start) + REDACTED + out.slice(h.end);
  return out;
}
