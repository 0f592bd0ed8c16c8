#!/usr/bin/env node
import '../dist/cli-bundle/run.js';
