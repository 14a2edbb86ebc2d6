// What the bundles get for `undici` (tsconfig.json "paths", which ncc
// resolves through). @actions/core imports @actions/http-client for OIDC
// tokens, and that imports undici for one thing, a proxy's ProxyAgent. No
// action asks for an OIDC token or sends a request through
// @actions/http-client (the forge client uses Node's own fetch), yet undici
// was bundled and evaluated at every start: 440 KB of each action bundle and
// about 40 ms of the security gate's cold start (measured). ncc never bound
// that import anyway (the bundles call a free `ProxyAgent`), so nothing that
// worked before is lost. Tests and scripts run against the real package.

export class ProxyAgent {
  constructor() {
    throw new Error('undici is not bundled with quality-gates actions');
  }
}
