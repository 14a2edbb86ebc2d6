// The image-freshness gate: is the image that will be deployed built from
// exactly the gated commit? It reads the image's revision label from the
// registry (no layer is pulled) and compares it with the sha. Mode `plan`
// always passes and says whether to build (a registry it cannot read means
// "build", the safe answer); mode `verify` fails unless the image is fresh.

import type { RunContext } from '../../core/src/context.ts';
import { ConfigurationError } from '../../core/src/errors.ts';
import type { GateDefinition } from '../../core/src/gate.ts';
import { markdownTable } from '../../core/src/markdown.ts';
import type { GatePolicy } from '../../core/src/policy.ts';
import type { GateOutcome, GateResult, Verdict } from '../../core/src/verdict.ts';
import { Git } from '../../git/src/git.ts';
import { IMAGE_INPUT_NAMES, IMAGE_INPUTS, readImageConfig, type ImageConfig } from './config.ts';
import { compareRevision, shownRevision } from './freshness.ts';
import { inspectImage, type ImageInspection } from './inspect.ts';
import { formatPlatform } from './platform.ts';
import { RegistryClient } from './registry-client.ts';
import { REGISTRY_TOOL_KIND, RegistryError } from './registry-error.ts';

export const IMAGE_REPORT_FILE = '20-image-freshness-report.md';

async function gatedSha(c: ImageConfig): Promise<string> {
  if (c.sha) return c.sha;
  const head = await new Git(c.workspace).resolveCommit('HEAD');
  if (!head) {
    throw new ConfigurationError(
      IMAGE_INPUTS.sha,
      `the commit sha being gated: none given, the event has no pull request head sha, and ${c.workspace} has no git HEAD`
    );
  }
  return head.toLowerCase();
}

interface Decision {
  verdict: Verdict;
  fresh: boolean;
  summary: string;
  /** Why it is (not) fresh, or what went wrong. */
  reason: string;
}

function decide(
  c: ImageConfig,
  sha: string,
  found: ImageInspection | undefined,
  problem: RegistryError | undefined
): Decision {
  const image = c.image.canonical;
  const stale = (reason: string): Decision =>
    c.mode === 'plan'
      ? { verdict: 'PASS', fresh: false, reason, summary: `rebuild needed: ${reason}` }
      : {
          verdict: 'FAIL',
          fresh: false,
          reason,
          summary: `${image} is not built from ${sha}: ${reason}`
        };
  if (problem) {
    const reason = `registry ${problem.reachable ? 'error' : 'unreachable'}: ${problem.message}`;
    return c.mode === 'plan'
      ? {
          verdict: 'PASS',
          fresh: false,
          reason,
          summary: `rebuild needed (assumed, the image could not be read): ${reason}`
        }
      : { verdict: 'FAIL', fresh: false, reason, summary: `cannot verify ${image}: ${reason}` };
  }
  if (!found || !found.present) return stale(`${image} is not in the registry; build and push it`);
  if (found.missingPlatform) {
    const offers = found.missingPlatform.length > 0 ? found.missingPlatform.join(', ') : 'none';
    return stale(
      `${image} has no ${formatPlatform(c.platform)} image (the index offers: ${offers})`
    );
  }
  const f = compareRevision(found.revision, sha, c.revisionLabel);
  if (!f.fresh) return stale(f.reason);
  const via = found.revisionSource === 'config-label' ? '' : ` (from the ${found.revisionSource})`;
  return {
    verdict: 'PASS',
    fresh: true,
    reason: f.reason,
    summary: `${image} (${(found.platformDigest ?? '').slice(0, 19)}) is built from ${sha}${via}`
  };
}

function renderBody(
  c: ImageConfig,
  sha: string,
  d: Decision,
  found: ImageInspection | undefined,
  warnings: readonly string[]
): string {
  const label = c.revisionLabel;
  const fix = [
    '### How to fix',
    '',
    `Build the image from this commit and label it with the full sha, for example \`docker build --label ${label}=$GITHUB_SHA\`, \`buildah bud --label ${label}=$GITHUB_SHA\` or kaniko \`--label ${label}=$GITHUB_SHA\`, then push it to the tag this gate reads.`,
    ''
  ];
  return [
    `## Image freshness gate: ${d.verdict}`,
    '',
    d.summary,
    '',
    markdownTable(
      [
        'Image',
        'Digest',
        'Platform',
        'Revision',
        'Source',
        'Gated sha',
        'Fresh',
        'Rebuild needed',
        'Mode'
      ],
      [
        [
          c.image.canonical,
          found?.digest ?? '-',
          found?.platform ?? formatPlatform(c.platform),
          found?.revision != null ? shownRevision(found.revision) : '-',
          found?.revisionSource ?? '-',
          sha,
          d.fresh ? 'yes' : 'no',
          d.fresh ? 'no' : 'yes',
          c.mode
        ]
      ]
    ),
    '',
    ...(d.fresh ? [] : [`Reason: ${d.reason}`, '']),
    ...(warnings.length > 0 ? ['### Warnings', '', ...warnings.map((w) => `- ${w}`), ''] : []),
    ...(d.fresh ? [] : fix)
  ].join('\n');
}

export async function evaluateImage(c: ImageConfig, ctx: RunContext): Promise<GateOutcome> {
  const started = Date.now();
  const sha = await gatedSha(c);
  const client = new RegistryClient({
    host: c.image.apiHost,
    insecure: c.insecure,
    ...(c.credentials ? { credentials: c.credentials } : {}),
    timeoutMs: c.timeoutMs,
    logger: ctx.logger
  });
  let found: ImageInspection | undefined;
  let problem: RegistryError | undefined;
  try {
    found = await inspectImage(client, c.image, { platform: c.platform, label: c.revisionLabel });
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    problem = err;
  }
  const d = decide(c, sha, found, problem);
  const warnings = [...(found?.notes ?? [])];
  if (problem) {
    const msg = `${c.mode === 'plan' ? 'plan mode: treating the image as stale, a rebuild is needed' : 'verify mode: FAIL'}; ${d.reason}`;
    warnings.push(msg);
    if (c.mode === 'plan') ctx.logger.warning(msg);
    else ctx.logger.error(msg);
  }
  for (const n of found?.notes ?? []) ctx.logger.warning(n);
  const fields = {
    head_sha: sha,
    sha_source: c.shaSource,
    image: c.image.canonical,
    digest: found?.digest ?? null,
    platform_digest: found?.platformDigest ?? null,
    platform: formatPlatform(c.platform),
    image_platform: found?.platform ?? null,
    image_present: found?.present ?? false,
    image_revision: found?.revision != null ? shownRevision(found.revision) : null,
    revision_source: found?.revisionSource ?? null,
    revision_label: c.revisionLabel,
    fresh: d.fresh,
    rebuild_needed: !d.fresh,
    mode: c.mode,
    registry_reachable: problem ? problem.reachable : true,
    registry_problem: problem ? problem.problem : null,
    duration_s: Math.round((Date.now() - started) / 100) / 10
  };
  return {
    verdict: d.verdict,
    summary: d.summary,
    fields,
    body: renderBody(c, sha, d, found, warnings),
    warnings
  };
}

export function imagePolicy(c: ImageConfig | undefined): GatePolicy {
  // plan: anything that stops the check means "build" (safe); verify: nothing unproven passes.
  const mode = c?.mode === 'plan' ? 'fail-open' : 'fail-closed';
  return { byKind: { [REGISTRY_TOOL_KIND]: mode }, default: mode };
}

/** Extra action outputs; anything but an explicit "fresh" reads as "rebuild" (a skipped or broken run builds). */
export function imageOutputs(r: GateResult): Record<string, string> {
  const fm = r.frontmatter;
  return {
    fresh: fm.fresh === true ? 'true' : 'false',
    'rebuild-needed': fm.rebuild_needed === false && fm.fresh === true ? 'false' : 'true',
    digest: typeof fm.digest === 'string' ? fm.digest : '',
    'image-revision': typeof fm.image_revision === 'string' ? fm.image_revision : ''
  };
}

export const imageFreshnessGate: GateDefinition<ImageConfig> = {
  gate: 'image-freshness',
  reportFile: IMAGE_REPORT_FILE,
  statusKey: 'image_status',
  inputs: IMAGE_INPUT_NAMES,
  policy: imagePolicy,
  buildConfig: readImageConfig,
  evaluate: evaluateImage,
  errorFields: (c) => ({
    image: c?.image.canonical ?? null,
    digest: null,
    image_revision: null,
    revision_source: null,
    fresh: false,
    rebuild_needed: true,
    mode: c?.mode ?? null,
    registry_reachable: null
  }),
  headSha: (o) =>
    typeof o.fields.head_sha === 'string' && o.fields.head_sha !== ''
      ? o.fields.head_sha
      : undefined
};
