// The test engine's wire (functions/js/test_engine.h) given what the package never sends:
// each bad request gets a clear error reply, and the engine keeps serving.
import { expect, test } from "vitest";
import { engine } from "../src/channel.mjs";

test("malformed and forged requests get errors; the engine keeps serving", async () => {
  const e = await engine();
  expect(e.exchange({ t: "bogus" })).toMatchObject({ t: "result", err: { message: 'test engine: unexpected request "bogus"' } });
  // A syscall or done for an rid nobody runs reaches no transaction.
  expect(e.exchange({ t: "sys", rid: 987654321, op: "1.0/insert", args: "{}" }).err.message).toMatch(/unexpected request "sys"/);
  expect(e.exchange({ t: "done", rid: 987654321, ok: "null" }).err.message).toMatch(/unexpected request "done"/);
  expect(e.exchange({ t: "call", db: 424242, path: "a:b", args: "{}" }).err.message).toMatch(/instance is closed/);

  const opened = e.exchange({ t: "open", analysis: {}, schema: null });
  expect(opened.t).toBe("opened");
  expect(e.exchange({ t: "call", db: opened.db, path: "a:b", args: "{not json" }).err.message).toMatch(/not Convex JSON/);
  expect(e.exchange({ t: "call", db: opened.db, path: "nope:fn", args: "{}" }).err.message).toMatch(/Could not find public function for 'nope:fn'|nope/);
  expect(e.exchange({ t: "call", db: opened.db, path: "a:b", args: "{}", identity: "[1]" }).err.message).toMatch(/identity/);
  expect(e.exchange({ t: "open", analysis: {}, schema: '{"tables": 5}' })).toMatchObject({ t: "error" });
  expect(e.exchange({ t: "open", analysis: {}, schema: null, limits: { bogus: 1 } })).toMatchObject({
    t: "error", message: 'transactionLimits: unknown limit "bogus"',
  });
  expect(e.exchange({ t: "open", analysis: { "m.js": { functions: [{ name: "f", udfType: "Nope" }] } }, schema: null }).t).toBe("error");
  expect(e.exchange({ t: "job", db: opened.db, id: "not-an-id" })).toMatchObject({ t: "result", ok: "false" });
  expect(e.exchange({ t: "close", db: opened.db })).toEqual({ t: "closed" });
  // Still serving.
  expect(e.exchange({ t: "open", analysis: {}, schema: null }).t).toBe("opened");
});
