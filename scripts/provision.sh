#!/usr/bin/env bash
# The system tools the test suite needs beyond Node and git, installed when
# missing (Debian and Ubuntu: apt-get):
#   python3-pytest-cov            real coverage.py runs in the coverage gate's tests
#   diff-cover                    patch coverage side by side with diff-cover, on
#   gcc gcovr lcov golang-go      small projects measured by the real tools
#   default-jdk-headless          (tests/integration/coverage-patch-diff-cover.test.ts):
#   libjacoco-java libasm-java    gcc + gcovr + lcov, go test, javac + JaCoCo 0.8.6
#   docker-registry skopeo umoci  a real OCI registry and image tools for the
#   apache2-utils (htpasswd)      image-freshness gate's tests
#   openssl
# Runs before `npm test` (the pretest script) and from .ci/run. As root, or
# with sudo that needs no password, it installs what is missing; otherwise it
# prints one line saying what is missing and how to install it, and fails
# (the suite cannot pass without them). QG_SKIP_PROVISION=1 skips the check.
set -euo pipefail

[ "${QG_SKIP_PROVISION:-}" = 1 ] && exit 0

# Debian package -> the check that it is usable.
missing() {
  local out=()
  /usr/bin/python3 -c 'import pytest_cov, coverage' 2>/dev/null || out+=(python3-pytest-cov)
  local tool
  for tool in docker-registry skopeo umoci; do
    command -v "$tool" >/dev/null 2>&1 || out+=("$tool")
  done
  command -v htpasswd >/dev/null 2>&1 || out+=(apache2-utils)
  command -v openssl >/dev/null 2>&1 || out+=(openssl)
  { command -v diff-cover >/dev/null 2>&1 && /usr/bin/python3 -c 'import diff_cover' 2>/dev/null; } ||
    out+=(diff-cover)
  for tool in gcc gcovr lcov; do
    command -v "$tool" >/dev/null 2>&1 || out+=("$tool")
  done
  command -v go >/dev/null 2>&1 || out+=(golang-go)
  { command -v javac >/dev/null 2>&1 && command -v jar >/dev/null 2>&1; } || out+=(default-jdk-headless)
  local jar
  for jar in org.jacoco.agent org.jacoco.core org.jacoco.report; do
    [ -f "/usr/share/java/$jar.jar" ] || { out+=(libjacoco-java); break; }
  done
  for jar in asm asm-commons asm-tree; do
    [ -f "/usr/share/java/$jar.jar" ] || { out+=(libasm-java); break; }
  done
  echo "${out[*]:-}"
}

need=$(missing)
if [ -z "$need" ]; then
  echo "provision: the test tools are installed (pytest-cov, docker-registry, skopeo, umoci, htpasswd, openssl, diff-cover, gcc, gcovr, lcov, go, javac, JaCoCo)"
  exit 0
fi

fail() {
  echo "provision: missing Debian packages the tests need: $need; $1, then run npm test again (or QG_SKIP_PROVISION=1 npm test to run without them: their tests fail)" >&2
  exit 1
}

command -v apt-get >/dev/null 2>&1 || fail "no apt-get here: install the equivalent packages"
if [ "$(id -u)" = 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  fail "install them as root: apt-get install -y $need"
fi

echo "provision: installing $need"
# shellcheck disable=SC2086 # one word per package
${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null ||
  fail "apt-get update failed: install them as root: apt-get install -y $need"
# shellcheck disable=SC2086
${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null ||
  fail "apt-get install failed: install them as root: apt-get install -y $need"

need=$(missing)
[ -z "$need" ] || fail "still missing after apt-get install"
echo "provision: installed"
