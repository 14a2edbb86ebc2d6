// Image references as Docker and the Distribution spec write them:
// [host[:port]/]repo/path[:tag][@algo:hex]. Docker Hub defaults apply
// (nginx -> docker.io/library/nginx:latest). Anything outside the grammar
// (a URL, '..', spaces, upper case in the path) is refused with one line
// naming the input, before any request is built from it.

import { ConfigurationError } from '../../core/src/errors.ts';

export interface ImageReference {
  /** Registry as written (docker.io for Docker Hub). */
  registry: string;
  /** host[:port] the Distribution API is served from (registry-1.docker.io for Docker Hub). */
  apiHost: string;
  /** Repository path, e.g. acme/app or library/nginx. */
  repository: string;
  tag?: string;
  digest?: string;
  /** What a manifest request asks for: the digest when pinned, else the tag. */
  reference: string;
  /** Normalised display form, host/repo[:tag][@digest]. */
  canonical: string;
}

const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const EXPECTED =
  'an image reference such as registry.example:5000/team/app:tag or team/app@sha256:<64 hex> (no scheme, lower-case path)';

function refuse(input: string, text: string, why?: string): never {
  throw new ConfigurationError(input, why ? `${EXPECTED}; ${why}` : EXPECTED, text);
}

export function parseImageReference(text: string, input = 'image'): ImageReference {
  const raw = text.trim();
  if (raw === '') throw new ConfigurationError(input, EXPECTED);
  if (raw.length > 512) refuse(input, raw, 'longer than 512 characters');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw))
    refuse(input, raw, 'drop the scheme (http://, https://)');
  if (/[^\x21-\x7e]/.test(raw)) refuse(input, raw, 'spaces and control characters are not allowed');

  let rest = raw;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) refuse(input, raw, 'a digest is sha256:<64 hex> or sha512:<128 hex>');
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag))
      refuse(input, raw, 'a tag is up to 128 of [A-Za-z0-9_.-], not starting with . or -');
  }

  let registry = DOCKER_HUB;
  let path = rest;
  const first = rest.indexOf('/');
  if (first !== -1) {
    const head = rest.slice(0, first);
    // Docker's rule: the first component is a host when it has a dot, a port or is localhost.
    if (/[.:]/.test(head) || head === 'localhost' || head !== head.toLowerCase()) {
      registry = head;
      path = rest.slice(first + 1);
      if (!DOMAIN.test(registry)) refuse(input, raw, `'${registry}' is not a registry host[:port]`);
      const port = /:(\d+)$/.exec(registry);
      if (port && (Number(port[1]) < 1 || Number(port[1]) > 65535))
        refuse(input, raw, 'the port must be 1 to 65535');
    }
  }
  if (registry === 'index.docker.io') registry = DOCKER_HUB;
  const components = path.split('/');
  if (path === '' || !components.every((c) => PATH_COMPONENT.test(c)))
    refuse(input, raw, 'each path component is lower-case [a-z0-9] joined by . _ __ or -');
  if (registry === DOCKER_HUB && components.length === 1) path = `library/${path}`;
  if (registry.length + 1 + path.length > 255)
    refuse(input, raw, 'the name is over 255 characters');
  if (tag === undefined && digest === undefined) tag = 'latest';

  const canonical = `${registry}/${path}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
  return {
    registry,
    apiHost: registry === DOCKER_HUB ? DOCKER_HUB_API : registry,
    repository: path,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
    reference: digest ?? tag!,
    canonical
  };
}
