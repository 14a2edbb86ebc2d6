// A stand-in for the gate process in tests of user commands: run by Node 24
// directly (erasable TypeScript), possibly as another user or to be
// SIGKILLed mid-run. argv[2] is JSON:
//   { command, mode?: 'user' | 'shell', isolation?, timeoutMs?, graceMs?, passEnv? }
// 'user' runs runUserCommand with userCommandEnv(process.env, passEnv);
// 'shell' runs runShell with the whole environment. The command's output is
// relayed as it arrives; the last line is `RESULT <json>`.
import { runShell } from '../../packages/proc/src/run.ts';
import { runUserCommand, type UserIsolation } from '../../packages/proc/src/user-command.ts';
import { userCommandEnv } from '../../packages/proc/src/user-env.ts';

interface ChildOptions {
  command: string;
  mode?: 'user' | 'shell';
  isolation?: UserIsolation;
  timeoutMs?: number;
  graceMs?: number;
  passEnv?: string[];
}

const o = JSON.parse(process.argv[2]) as ChildOptions;
const relay = (s: string): void => void process.stdout.write(s);
const common = {
  timeoutMs: o.timeoutMs ?? 30_000,
  graceMs: o.graceMs ?? 500,
  onStdout: relay,
  onStderr: relay
};
const r =
  o.mode === 'shell'
    ? await runShell(o.command, common)
    : await runUserCommand(o.command, {
        ...common,
        isolation: o.isolation ?? 'auto',
        env: userCommandEnv(process.env, o.passEnv ?? [])
      });
process.stdout.write(`\nRESULT ${JSON.stringify(r)}\n`);
