// The test engine process (`convexlite test-engine`, functions/js/test_engine.h) and the
// two FIFOs to it. One engine per process, started at the first convexTest() call and
// reused by every later one (each gets its own in-memory database).
//
// Every request is answered by exactly one reply, and `exchange` blocks for it with
// fs.readSync: syscalls of Convex's library may be synchronous (queryStream), and a blocking
// round trip is also the fastest one. Frames are a 4-byte little-endian length and UTF-8
// JSON, as the engine's workers use.
//
// FIFOs rather than the child's stdio pipes: Node's pipes are non-blocking sockets, which
// fs.readSync cannot wait on. Each end is opened so that no open ever blocks and each
// side sees EOF when the other exits (see `connect`).

import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ENGINE = Symbol.for("convexlite-test.engine");
const SPIN_MS = 0.2;
const SKIP_AFTER_MISS = 4;

/** Where the convexlite binary is: $CONVEXLITE_BIN, the checkout's build, or PATH. */
export function engineBinary() {
  if (process.env.CONVEXLITE_BIN) return process.env.CONVEXLITE_BIN;
  const here = path.dirname(fileURLToPath(import.meta.url));
  const built = path.resolve(here, "../../../build/tools/convexlite/convexlite");
  if (fs.existsSync(built)) return built;
  return "convexlite";
}

class Engine {
  /**
   * @param {number} requests the requests FIFO, write end
   * @param {number} replies the replies FIFO, read end (blocking)
   * @param {number} poller the same FIFO again, non-blocking: waiting for a reply spins on
   *   it briefly before it blocks, since the engine usually answers within microseconds
   *   and a sleep and wake-up cost several times that.
   */
  constructor(requests, replies, poller) {
    this.requests = requests;
    this.replies = replies;
    this.poller = poller;
    this.header = Buffer.alloc(4);
    this.pending = 0;  // header bytes the spin read
    this.skip = 0;  // exchanges left that do not spin
  }

  /** Sends `request` and returns the engine's reply (blocking). */
  exchange(request) {
    const body = Buffer.from(JSON.stringify(request), "utf8");
    const frame = Buffer.allocUnsafe(4 + body.length);
    frame.writeUInt32LE(body.length, 0);
    body.copy(frame, 4);
    try {
      for (let off = 0; off < frame.length;) off += fs.writeSync(this.requests, frame, off, frame.length - off);
      this.#spin();
      this.#read(this.header, 4);
      const reply = Buffer.allocUnsafe(this.header.readUInt32LE(0));
      this.#read(reply, reply.length);
      return JSON.parse(reply.toString("utf8"));
    } catch (error) {
      throw new Error(`convexlite-test: the test engine went away (${error.message}); its output above says why`);
    }
  }

  /**
   * Reads the reply's first bytes from the non-blocking end, for up to SPIN_MS. A spin that
   * ends without a reply most likely kept the engine off this core (JavaScript cannot
   * yield it), so the next SKIP_AFTER_MISS exchanges block at once instead.
   */
  #spin() {
    if (this.skip > 0) {
      this.skip--;
      return;
    }
    const until = performance.now() + SPIN_MS;
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;  // EAGAIN is thrown, and a stack trace is most of its cost
    try {
      while (performance.now() < until) {
        try {
          this.pending = fs.readSync(this.poller, this.header, 0, 4, null);
          return;
        } catch (error) {
          if (error.code !== "EAGAIN") return;
        }
      }
      this.skip = SKIP_AFTER_MISS;
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  #read(buffer, length) {
    let off = 0;
    if (buffer === this.header) {
      off = this.pending;
      this.pending = 0;
    }
    for (; off < length;) {
      const n = fs.readSync(this.replies, buffer, off, length - off, null);
      if (n === 0) throw new Error("end of stream");
      off += n;
    }
  }
}

/**
 * Starts the engine. Each FIFO is first opened O_RDWR here (an open that never blocks),
 * so the engine's blocking opens complete at once; once it says "ready", the ends this
 * process keeps are opened (they do not block either: the engine holds the other side)
 * and the O_RDWR ones closed, so that EOF reaches whichever side outlives the other.
 */
async function connect() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "convexlite-test-"));
  const requestsPath = path.join(dir, "requests");
  const repliesPath = path.join(dir, "replies");
  execFileSync("mkfifo", [requestsPath, repliesPath]);
  const holdRequests = fs.openSync(requestsPath, fs.constants.O_RDWR);
  const holdReplies = fs.openSync(repliesPath, fs.constants.O_RDWR);
  const binary = engineBinary();
  const child = spawn(binary, ["test-engine", "--requests", requestsPath, "--replies", repliesPath], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    await new Promise((resolve, reject) => {
      let out = "";
      child.once("error", (error) =>
        reject(new Error(`convexlite-test: cannot start ${binary} (${error.message}); set CONVEXLITE_BIN to the convexlite binary`)));
      child.once("exit", (code, signal) =>
        reject(new Error(`convexlite-test: the test engine ${binary} exited (${signal ?? code}) before it was ready`)));
      child.stdout.on("data", (chunk) => {
        out += chunk;
        if (out.includes("ready\n")) resolve();
      });
    });
    const requests = fs.openSync(requestsPath, fs.constants.O_WRONLY);
    const replies = fs.openSync(repliesPath, fs.constants.O_RDONLY);
    const poller = fs.openSync(repliesPath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    return new Engine(requests, replies, poller);
  } finally {
    fs.closeSync(holdRequests);
    fs.closeSync(holdReplies);
    fs.rmSync(dir, { recursive: true, force: true });
    child.removeAllListeners("exit");
    child.stdout.destroy();
    child.unref();
  }
}

/** This process's engine, started on first use. */
export function engine() {
  globalThis[ENGINE] ??= connect();
  return globalThis[ENGINE];
}
