#!/usr/bin/env node
// An example agent in Node, with no knowledge of Enact. It starts a small
// HTTP API on loopback (http.createServer, in this same process), then:
//   1. asks it for the weather six times with fetch (one kept-alive
//      connection, so action = request in enact.ini counts each request),
//   2. lists its scratch folder four times with `ls` (execFileSync),
//   3. deletes the scratch folder with `rm -rf` (execFileSync).
//
// Under `enact run` with the enact.ini next to this file: requests beyond
// the burst of 3 fail (EPERM, rate_limited), `ls` beyond its burst of 2
// cannot start (spawnSync ls EPERM), and rm is only simulated: it exits 0
// and the folder is still there. All of it is in audit.jsonl next to
// enact.ini. Finishes in about a second.
'use strict';
const http = require('node:http');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

// Listens on the first free port of first..first+9 (listening is not
// governed: only connects and program starts are).
function listen(server, port, last) {
  return new Promise((resolve, reject) => {
    server.once('error', (err) => {
      if (err.code === 'EADDRINUSE' && port < last) resolve(listen(server, port + 1, last));
      else reject(err);
    });
    server.listen(port, '127.0.0.1', () => resolve(port));
  });
}

function why(err) {
  const cause = err.cause || err;
  return cause.code || cause.message;
}

async function main() {
  const server = http.createServer((req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ city: req.url.slice(1), sky: 'clear' }));
  });
  const port = await listen(server, 18310, 18319);

  console.log(`agent: 1. asking the weather API 6 times (127.0.0.1:${port})`);
  for (const [i, city] of ['oslo', 'lima', 'pune', 'kobe', 'nice', 'graz'].entries()) {
    try {
      const reply = await fetch(`http://127.0.0.1:${port}/${city}`);
      console.log(`  request ${i + 1}: HTTP ${reply.status} ${await reply.text()}`);
    } catch (err) {
      console.log(`  request ${i + 1}: failed: ${why(err)}`);
    }
  }
  server.close();
  server.closeAllConnections();

  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'node-agent-'));
  fs.writeFileSync(path.join(scratch, 'forecast.json'), '{}');

  console.log(`agent: 2. listing ${scratch} 4 times with ls`);
  for (let i = 1; i <= 4; i++) {
    try {
      const out = execFileSync('ls', [scratch], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      console.log(`  ls ${i}: ${out.trim()}`);
    } catch (err) {
      console.log(`  ls ${i}: failed: ${err.code || err.message}`);
    }
  }

  console.log(`agent: 3. deleting the scratch folder: rm -rf ${scratch}`);
  execFileSync('rm', ['-rf', scratch], { stdio: 'inherit' });
  console.log(`  rm exited 0; the folder is ${fs.existsSync(scratch) ? 'still there' : 'gone'}`);
  // Tidy up without a program start, so the example leaves nothing behind.
  fs.rmSync(scratch, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(`agent: ${err.stack || err}`);
  process.exit(1);
});
