// Side by side: what convex-test reports and what convexlite-test reports for the same
// test, on the cases where convex-test's mock is not Convex. Each test asserts the real
// behaviour on convexlite-test, and what convex-test 0.0.60 does instead, so the
// difference stays documented (docs/guides/testing.md).
import { beforeEach, describe, expect, test } from "vitest";
import { convexTest as mockConvexTest } from "convex-test";
import { convexTest } from "convexlite-test";
import { api } from "./_generated/api";
import { runs } from "./fidelity";
import schema from "./schema";

const modules = import.meta.glob("./**/*.*s");
const both = [
  ["convex-test", mockConvexTest],
  ["convexlite-test", convexTest],
] as const;

beforeEach(() => {
  runs.transfer = 0;
  runs.append = 0;
});

async function openAccounts(t: any, balance: number) {
  await t.mutation(api.bank.open, { owner: "a", balance });
  await t.mutation(api.bank.open, { owner: "b", balance });
}

describe("16 concurrent transfers between two accounts", () => {
  test.each(both)("%s", async (name, make) => {
    const t = make(schema, modules);
    await openAccounts(t, 100);
    await Promise.all(Array.from({ length: 16 }, () => t.mutation(api.fidelity.transfer, { from: "a", to: "b", amount: 1 })));
    expect(await t.query(api.bank.balance, { owner: "a" })).toBe(84);
    expect(await t.query(api.bank.balance, { owner: "b" })).toBe(116);
    if (name === "convex-test") {
      // One global lock: the transactions never overlap, nothing conflicts, nothing re-runs.
      expect(runs.transfer).toBe(16);
    } else {
      // They overlap at their awaits, conflict at commit, and the losers' JS runs again.
      expect(runs.transfer).toBeGreaterThan(16);
    }
  });
});

describe("a phantom under concurrent appends", () => {
  test.each(both)("%s", async (name, make) => {
    const t = make(schema, modules);
    await Promise.all(Array.from({ length: 6 }, (_, i) => t.mutation(api.fidelity.appendIfFewer, { max: 3, text: `t${i}` })));
    expect(await t.run((ctx: any) => ctx.db.query("tasks").collect())).toHaveLength(3);
    if (name === "convex-test") expect(runs.append).toBe(6);
    // The range each call read was written by another: the engine saw it and re-ran it.
    else expect(runs.append).toBeGreaterThan(6);
  });
});

describe("an ID from another table", () => {
  test.each(both)("%s", async (name, make) => {
    const t = make(schema, modules);
    const accountId = await t.mutation(api.bank.open, { owner: "a", balance: 1 });
    const error = await t.query(api.fidelity.getMessage, { id: accountId }).catch((e: Error) => e);
    if (name === "convex-test") {
      // Its IDs are a counter followed by the table name.
      expect(accountId).toMatch(/^0+\d+accounts$/);
      expect(String(error)).toMatch(/Validator error: Expected ID for table "messages"/);
      // ...so a made-up string that ends in the table's name passes v.id("messages").
      expect(await t.query(api.fidelity.getMessage, { id: "123messages" })).toBeNull();
    } else {
      // Real Convex IDs: they encode the table, and a made-up one is refused.
      expect(accountId).toMatch(/^[0-9a-z]{31,37}$/);
      expect(String(error)).toMatch(/ArgumentValidationError: Found ID "\w+" from table `accounts`, which does not match the table name in validator `v.id\("messages"\)`/);
      await expect(t.query(api.fidelity.getMessage, { id: "123messages" })).rejects.toThrow(/ArgumentValidationError/);
    }
  });
});

describe("a 2 MiB document", () => {
  test.each(both)("%s", async (name, make) => {
    const t = make(schema, modules);
    const insert = t.mutation(api.fidelity.store, { bytes: 2 << 20 });
    if (name === "convex-test") {
      // No size limit: the insert succeeds.
      await expect(insert).resolves.toBeTypeOf("string");
    } else {
      // Convex refuses documents over 1 MiB, and the mutation leaves nothing.
      await expect(insert).rejects.toThrow(/DocumentTooLarge|too large/i);
      expect(await t.run((ctx: any) => ctx.db.query("blobs").collect())).toEqual([]);
    }
  });
});
