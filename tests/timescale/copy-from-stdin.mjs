// COPY ... FROM STDIN for PGlite behind @electric-sql/pglite-socket 0.0.19.
//
// The socket handler passes every chunk a client sends to db.execProtocolRaw() on its own, but
// PGlite cannot resume a COPY started in an earlier call: the CopyData that follows the query
// crashes the WASM backend ("RuntimeError: unreachable") and the server with it. Upstream has
// an open fix along the same lines (electric-sql/pglite pull request #1028). This wrapper
// answers the COPY query with a CopyInResponse of its own, holds back the client's CopyData
// until CopyDone (or CopyFail) arrives, then hands query and data to PGlite in ONE call and
// removes PGlite's own CopyInResponse from the answer.
//
// Only the simple query protocol is handled (what psycopg uses for a COPY without parameters);
// errors of the COPY statement reach the client after its data, as CopyDone's answer.

const COPY_FROM_STDIN = /^\s*COPY\s+[^;]*\bFROM\s+STDIN\b/i;
const decoder = new TextDecoder();

function readInt32(bytes, offset) {
  return new DataView(bytes.buffer, bytes.byteOffset + offset, 4).getInt32(0);
}

// [type, start, end) of each complete message in bytes, from offset on.
function* messages(bytes, offset = 0) {
  while (offset + 5 <= bytes.length) {
    const end = offset + 1 + readInt32(bytes, offset + 1);
    if (end > bytes.length) return;
    yield [String.fromCharCode(bytes[offset]), offset, end];
    offset = end;
  }
}

// The SQL of a chunk that is exactly one simple-protocol COPY ... FROM STDIN query, or null.
function copyQuery(bytes) {
  if (bytes.length < 6 || bytes[0] !== 0x51 /* Q */ || 1 + readInt32(bytes, 1) !== bytes.length) {
    return null;
  }
  const sql = decoder.decode(bytes.subarray(5, bytes.length - 1));
  return COPY_FROM_STDIN.test(sql) ? sql : null;
}

// CopyInResponse in text format, one format code per listed column.
function copyInResponse(sql) {
  const listed = /\(([^)]*)\)\s*FROM\s+STDIN/i.exec(sql);
  const columns = listed ? listed[1].split(",").length : 0;
  const bytes = new Uint8Array(1 + 4 + 1 + 2 + 2 * columns);
  const view = new DataView(bytes.buffer);
  bytes[0] = 0x47; // G
  view.setInt32(1, bytes.length - 1);
  view.setInt16(6, columns);
  return bytes;
}

function concat(chunks) {
  const bytes = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

function withoutFirst(type, bytes) {
  for (const [found, start, end] of messages(bytes)) {
    if (found === type) return concat([bytes.subarray(0, start), bytes.subarray(end)]);
  }
  return bytes;
}

export function withCopyFromStdin(db) {
  // While a COPY's data is being collected: every chunk so far, and the bytes after the last
  // complete message (the scan for CopyDone resumes there).
  let copy = null;

  async function execProtocolRaw(data, options) {
    const bytes = new Uint8Array(data);
    if (copy === null) {
      const sql = copyQuery(bytes);
      if (sql === null) return db.execProtocolRaw(bytes, options);
      copy = { chunks: [bytes], unscanned: new Uint8Array(0) };
      return copyInResponse(sql);
    }
    copy.chunks.push(bytes);
    const unscanned = concat([copy.unscanned, bytes]);
    let scanned = 0;
    for (const [type, , end] of messages(unscanned)) {
      scanned = end;
      if (type === "c" || type === "f") {
        const all = concat(copy.chunks);
        copy = null;
        return withoutFirst("G", await db.execProtocolRaw(all, options));
      }
    }
    copy.unscanned = unscanned.subarray(scanned);
    return new Uint8Array(0); // nothing to answer until the copy ends
  }

  return new Proxy(db, {
    get(target, property) {
      if (property === "execProtocolRaw") return execProtocolRaw;
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
