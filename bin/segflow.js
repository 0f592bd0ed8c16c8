#!/usr/bin/env node
// On Node 22.1 and later, V8 keeps the compiled code of the CLI's modules in a cache directory (under os.tmpdir()), so
// that a command does not compile them again; Node 20 has no such API, and there the call is skipped.
import module from 'node:module';

module.enableCompileCache?.();
await import('../dist/cli-bundle/run.js');
