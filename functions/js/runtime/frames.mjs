// The worker's wire format (docs/design/typescript-apps.md): each frame is a 4-byte
// little-endian length and that many bytes of UTF-8 JSON, one object {t, rid, ...}.
//
//   fd 3  engine -> worker   init, invoke, ret (async syscall replies)
//   fd 4  worker -> engine   ready, sys, sync, done
//   fd 5  engine -> worker   the reply to the one outstanding `sync` frame

import fs from "node:fs";

/** @param {object} message */
export function encode(message) {
  const body = Buffer.from(JSON.stringify(message), "utf8");
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32LE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/** Splits a byte stream into frames; calls `onFrame` with each parsed object. */
export class FrameReader {
  constructor(onFrame) {
    this.onFrame = onFrame;
    this.buffer = Buffer.alloc(0);
  }

  push(chunk) {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    while (this.buffer.length >= 4) {
      const length = this.buffer.readUInt32LE(0);
      if (this.buffer.length < 4 + length) break;
      const body = this.buffer.subarray(4, 4 + length).toString("utf8");
      this.buffer = this.buffer.subarray(4 + length);
      this.onFrame(JSON.parse(body));
    }
  }
}

/** Writes a whole frame to `fd`, blocking (the engine drains it on its own thread). */
export function writeFrame(fd, message) {
  const frame = encode(message);
  let offset = 0;
  while (offset < frame.length) {
    try {
      offset += fs.writeSync(fd, frame, offset, frame.length - offset);
    } catch (error) {
      if (error.code !== "EAGAIN") throw error;
    }
  }
}

function readFully(fd, length) {
  const out = Buffer.allocUnsafe(length);
  let offset = 0;
  while (offset < length) {
    let n;
    try {
      n = fs.readSync(fd, out, offset, length - offset, null);
    } catch (error) {
      if (error.code === "EAGAIN") continue;
      throw error;
    }
    if (n === 0) throw new Error("the engine closed the sync channel");
    offset += n;
  }
  return out;
}

/** Reads one frame from `fd`, blocking. */
export function readFrameSync(fd) {
  const length = readFully(fd, 4).readUInt32LE(0);
  return JSON.parse(readFully(fd, length).toString("utf8"));
}
