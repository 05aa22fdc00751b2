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

/**
 * Splits a byte stream into frames; calls `onFrame` with each parsed object. A chunk may be
 * a buffer its owner reuses (net.Socket's `onread`): what is left of it is copied.
 */
export class FrameReader {
  constructor(onFrame) {
    this.onFrame = onFrame;
    this.rest = null;  // a frame's first bytes, copied
  }

  push(chunk) {
    const buffer = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = null;
    let offset = 0;
    while (buffer.length - offset >= 4) {
      const length = buffer.readUInt32LE(offset);
      if (buffer.length - offset - 4 < length) break;
      const body = buffer.toString("utf8", offset + 4, offset + 4 + length);
      offset += 4 + length;
      this.onFrame(JSON.parse(body));
    }
    if (offset < buffer.length) this.rest = Buffer.from(buffer.subarray(offset));
  }
}

function writeAll(fd, bytes) {
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += fs.writeSync(fd, bytes, offset, bytes.length - offset);
    } catch (error) {
      if (error.code !== "EAGAIN") throw error;
    }
  }
}

/** @type {Map<number, Buffer[]>} frames waiting for the end of this turn, by fd */
const queued = new Map();

function flush(fd) {
  const frames = queued.get(fd);
  if (!frames) return;
  queued.delete(fd);
  writeAll(fd, frames.length === 1 ? frames[0] : Buffer.concat(frames));
}

/**
 * Sends a frame once the current turn's promise jobs have run (process.nextTick), together
 * with every other frame queued in that turn: calls that resume together send their
 * syscalls and results in one write, which the engine takes in one read.
 */
export function queueFrame(fd, message) {
  let frames = queued.get(fd);
  if (!frames) {
    frames = [];
    queued.set(fd, frames);
    process.nextTick(flush, fd);
  }
  frames.push(encode(message));
}

/** Writes a frame now, after any queued ones, blocking (the engine drains the pipe). */
export function writeFrame(fd, message) {
  let frames = queued.get(fd);
  if (!frames) queued.set(fd, (frames = []));
  frames.push(encode(message));
  flush(fd);
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
