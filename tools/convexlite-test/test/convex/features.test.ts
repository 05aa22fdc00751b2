// convex-test's surface beyond query and mutation: t.run, t.fetch, actions, nested calls,
// function handles, the scheduler with fake timers, transactionLimits.
import { afterEach, expect, test, vi } from "vitest";
import { convexTest } from "convexlite-test";
import { api, internal } from "./_generated/api";
import schema from "./schema";

const modules = import.meta.glob("./**/*.*s");

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

test("t.run reads and writes in one mutation", async () => {
  const t = convexTest(schema, modules);
  const first = await t.run(async (ctx) => {
    await ctx.db.insert("tasks", { text: "Eat breakfast" });
    return ctx.db.query("tasks").first();
  });
  expect(first).toMatchObject({ text: "Eat breakfast" });
  expect(await t.run((ctx) => ctx.db.query("tasks").collect())).toHaveLength(1);
  expect(await t.run(async () => undefined)).toBeNull();
});

test("t.run that throws leaves nothing", async () => {
  const t = convexTest(schema, modules);
  const boom = new Error("boom");
  await expect(
    t.run(async (ctx) => {
      await ctx.db.insert("tasks", { text: "x" });
      throw boom;
    }),
  ).rejects.toBe(boom);
  expect(await t.run((ctx) => ctx.db.query("tasks").collect())).toEqual([]);
});

test("t.fetch runs http.ts's routes", async () => {
  const t = convexTest(schema, modules);
  const response = await t.fetch("/postMessage", {
    method: "POST",
    body: JSON.stringify({ author: "Tom", body: "over HTTP" }),
  });
  expect(response.status).toBe(200);
  expect(await t.query(api.messages.list)).toMatchObject([{ author: "Tom", body: "over HTTP" }]);

  const echo = await t.withIdentity({ name: "Ann" }).fetch("/echo/a?x=1");
  expect(echo.status).toBe(201);
  expect(echo.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
  expect(await echo.json()).toEqual({ url: "https://some.convex.site/echo/a?x=1", x: "1", name: "Ann" });

  const missing = await t.fetch("/nowhere");
  expect(missing.status).toBe(404);
  expect(await missing.text()).toBe("No HttpAction routed for /nowhere");
  await expect(t.fetch("relative")).rejects.toThrow("Path given to `t.fetch` must start with a `/`");
});

test("nested runMutation and runQuery share the caller's transaction", async () => {
  const t = convexTest(schema, modules);
  expect(await t.mutation(api.bank.openTwo, { a: "a", b: "b" })).toBe(20);
  await expect(t.mutation(api.bank.openTwoThenFail, {})).rejects.toThrow("after the nested call");
  expect(await t.query(api.bank.balance, { owner: "x" })).toBeNull();
});

test("actions run queries and mutations in their own transactions", async () => {
  const t = convexTest(schema, modules);
  await t.mutation(api.bank.openTwo, { a: "a", b: "b" });
  expect(await t.action(api.bank.transferFromAction, { from: "a", to: "b", amount: 3 })).toBe(13);
  const error = await t.action(api.bank.transferFromAction, { from: "a", to: "b", amount: 100 }).catch((e) => e);
  expect(error.data).toEqual({ code: "INSUFFICIENT", balance: 7 });
});

test("function handles and names work where references do", async () => {
  const t = convexTest(schema, modules);
  await t.mutation("bank:open", { owner: "h", balance: 5 });
  const handle = await t.mutation(api.bank.handleOf, {});
  expect(handle).toMatch(/^function:\/\//);
  expect(await t.query(handle, { owner: "h" })).toBe(5);
  expect(await t.query(internal.bank.total, {})).toBe(5);
});

test("a stubbed fetch in an action", async () => {
  const t = convexTest(schema, modules);
  vi.stubGlobal("fetch", vi.fn(async () => new Response("stubbed")));
  expect(await t.action(api.scheduling.fetchInAction, {})).toBe("stubbed");
});

test("fetch is refused in a mutation, stubbed or not, as on Convex", async () => {
  const t = convexTest(schema, modules);
  await expect(t.mutation(api.scheduling.fetchInMutation, {})).rejects.toThrow(/Can't use fetch\(\) in queries and mutations/);
  vi.stubGlobal("fetch", vi.fn(async () => new Response("stubbed")));
  await expect(t.mutation(api.scheduling.fetchInMutation, {})).rejects.toThrow(/Can't use fetch\(\) in queries and mutations/);
  expect(await t.action(api.scheduling.fetchInAction, {})).toBe("stubbed");
});

test("timers are refused in a mutation, fake or real, as on Convex; actions get them", async () => {
  const t = convexTest(schema, modules);
  await expect(t.mutation(api.scheduling.timerInMutation, {})).rejects.toThrow(/Can't use setTimeout in queries and mutations/);
  expect(await t.action(api.scheduling.timerInAction, {})).toBe("waited");
  vi.useFakeTimers();
  await expect(t.mutation(api.scheduling.timerInMutation, {})).rejects.toThrow(/Can't use setTimeout in queries and mutations/);
  const waited = t.action(api.scheduling.timerInAction, {});
  await vi.advanceTimersByTimeAsync(10);
  expect(await waited).toBe("waited");
  vi.useRealTimers();
});

test("_creationTime and scheduled times follow the test's clock, fake timers too", async () => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date("2031-05-06T07:08:09Z"));
  const t = convexTest(schema, modules);
  const doc = await t.run(async (ctx) => ctx.db.get(await ctx.db.insert("tasks", { text: "a" })));
  expect(doc!._creationTime).toBeGreaterThanOrEqual(Date.parse("2031-05-06T07:08:09Z"));
  expect(doc!._creationTime).toBeLessThan(Date.parse("2031-05-06T07:08:10Z"));
  await t.mutation(api.scheduling.mutationSchedulingAction, { delayMs: 60_000 });
  const [job] = await t.run((ctx) => ctx.db.system.query("_scheduled_functions").collect());
  expect(job.scheduledTime).toBe(Date.parse("2031-05-06T07:09:09Z"));
  vi.setSystemTime(new Date("2031-05-06T08:00:00Z"));
  const later = await t.run(async (ctx) => ctx.db.get(await ctx.db.insert("tasks", { text: "b" })));
  expect(later!._creationTime).toBeGreaterThanOrEqual(Date.parse("2031-05-06T08:00:00Z"));
  vi.useRealTimers();
});

test("scheduled functions under fake timers", async () => {
  vi.useFakeTimers();
  const t = convexTest(schema, modules);
  vi.stubGlobal("fetch", vi.fn(async () => new Response("42")));
  const id = await t.mutation(api.scheduling.mutationSchedulingAction, { delayMs: 10000 });
  vi.advanceTimersByTime(5000);
  await t.finishInProgressScheduledFunctions();
  expect(await t.run((ctx) => ctx.db.query("tasks").collect())).toEqual([]);
  vi.advanceTimersByTime(6000);
  await t.finishInProgressScheduledFunctions();
  expect(await t.run((ctx) => ctx.db.system.get(id))).toMatchObject({ state: { kind: "success" } });
  expect(await t.run((ctx) => ctx.db.query("tasks").first())).toMatchObject({ text: "42", author: "AI" });
});

test("finishAllScheduledFunctions follows a chain", async () => {
  vi.useFakeTimers();
  const t = convexTest(schema, modules);
  await t.mutation(api.scheduling.chain, { steps: 3 });
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  expect((await t.run((ctx) => ctx.db.query("tasks").collect())).map((x) => x.text)).toEqual([
    "step 3", "step 2", "step 1", "step 0",
  ]);
});

test("finishAllScheduledFunctions gives up on endless chains", async () => {
  vi.useFakeTimers();
  const t = convexTest(schema, modules);
  await t.mutation(internal.scheduling.forever, {});
  await expect(t.finishAllScheduledFunctions(vi.runAllTimers, 5)).rejects.toThrow(/too many iterations/);
});

test("a canceled job never runs", async () => {
  vi.useFakeTimers();
  const t = convexTest(schema, modules);
  const id = await t.mutation(api.scheduling.scheduleAndCancel, {});
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  expect(await t.run((ctx) => ctx.db.system.get(id))).toMatchObject({ state: { kind: "canceled" } });
  expect(await t.run((ctx) => ctx.db.query("tasks").collect())).toEqual([]);
});

test("transactionLimits lowers Convex's limits", async () => {
  const t = convexTest({ schema, modules, transactionLimits: { documentsWritten: 1 } });
  await t.mutation(api.messages.send, { body: "one", author: "a" });
  await expect(t.mutation(api.bank.openTwo, { a: "a", b: "b" })).rejects.toThrow(/Too many (documents written|writes)/);
});

test("registerComponent is refused clearly", () => {
  const t = convexTest(schema, modules);
  expect(() => t.registerComponent("x", schema, modules)).toThrow(/not supported by convexlite/);
});

test("16 clients of transfers under heavy contention all commit, and the total holds", async () => {
  const t = convexTest(schema, modules);
  for (let i = 0; i < 8; i++) await t.mutation(api.bank.open, { owner: `o${i}`, balance: 100 });
  let seed = 7;
  const next = () => ((seed = (seed * 16807) % 2147483647) >> 8) % 8;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = 0; i < 10; i++) {
        const from = next();
        await t.mutation(api.bank.transfer, { from: `o${from}`, to: `o${(from + 1 + (next() % 7)) % 8}`, amount: 1 });
      }
    }),
  );
  expect(await t.query(internal.bank.total, {})).toBe(800);
}, 30000);
