#!/usr/bin/env node
// The `evs-authz` executable (package bin). All behaviour lives in cli.ts, which tests call directly.
import { main } from './cli.js'

process.exitCode = main(process.argv.slice(2))
