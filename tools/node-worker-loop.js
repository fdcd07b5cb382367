/**
 * The stdin/stdout JSON-lines loop shared by the long-lived reference workers
 * (reference-tfjs4/run_graph_model.js, reference-posedetection/run_posedetection.js).
 *
 * Protocol: one JSON request per line on stdin, one JSON reply per line on stdout, in order.
 * Every reply carries the request's `id` and `ok`; failures reply {"ok": false, "error": text}
 * and the worker keeps running. Requests run one after another.
 *
 * Node built-ins only: each tool folder is its own npm package, so the workers require this file
 * by relative path ('../node-worker-loop') and it must not need anything from a node_modules.
 */
'use strict';

const readline = require('readline');

// Taken when this file is loaded; a worker redirects console.log & co. to stderr itself.
const protocolOut = process.stdout;

/** One request line -> its reply object; `commands` maps a `cmd` to an (async) function of the request. */
async function handle(commands, line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    return {id: null, ok: false, error: `request is not JSON: ${e.message}`};
  }
  const command = commands[req.cmd];
  if (command == null) return {id: req.id, ok: false, error: `unknown command ${JSON.stringify(req.cmd)}`};
  try {
    return {id: req.id, ok: true, ...(await command(req))};
  } catch (e) {
    return {id: req.id, ok: false, error: String(e && e.message ? e.message : e)};
  }
}

/** Run `await setup()`, then answer the requests on stdin until it closes; exit 1 on a fatal error. */
function serve(commands, setup) {
  async function main() {
    await setup();
    const rl = readline.createInterface({input: process.stdin, terminal: false});
    for await (const line of rl) {
      if (!line.trim()) continue;
      protocolOut.write(JSON.stringify(await handle(commands, line)) + '\n');
    }
  }

  main().catch((e) => {
    console.error(e && e.stack ? e.stack : e);
    process.exit(1);
  });
}

module.exports = {handle, serve};
