#!/usr/bin/env node
// The committed bundle is the CLI: no build step between `npm ci` and use.
import '../dist/cli/index.js';
