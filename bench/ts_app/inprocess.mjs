// The convex library called in this process, with no engine: the bundle's functions run
// against a Map through a minimal Convex global, as js-runtime.md measured. ts_bench runs
// it to show what the worker's IPC adds. Prints {echo_us, load_us, store_us}.
//   node inprocess.mjs <version dir> <seconds>
import path from "node:path";
import { pathToFileURL } from "node:url";

const [dir, seconds = "1"] = process.argv.slice(2);
const docs = new Map();
let next = 0;
globalThis.Convex = {
  syscall() { throw new Error("no sync syscalls here"); },
  async asyncSyscall(op, args) {
    const a = JSON.parse(args);
    if (op === "1.0/get") return JSON.stringify(docs.get(a.id) ?? null);
    if (op === "1.0/insert") {
      const id = `id${next++}`;
      docs.set(id, { ...a.value, _id: id, _creationTime: 1 });
      return JSON.stringify({ _id: id });
    }
    throw new Error(`unexpected ${op}`);
  },
  jsSyscall() { throw new Error("no js syscalls here"); },
};
const mod = await import(pathToFileURL(path.join(dir, "tsbench.js")).href);
const id = JSON.parse(await mod.store.invokeMutation(JSON.stringify([{ value: 1 }])));
async function time(fn) {
  const end = performance.now() + Number(seconds) * 1000;
  let n = 0;
  const start = performance.now();
  while (performance.now() < end) {
    await fn();
    n++;
  }
  return ((performance.now() - start) * 1000) / n;
}
const out = {
  echo_us: await time(() => mod.echo.invokeQuery(JSON.stringify([{ value: 1 }]))),
  load_us: await time(() => mod.load.invokeQuery(JSON.stringify([{ id }]))),
  store_us: await time(() => mod.store.invokeMutation(JSON.stringify([{ value: 1 }]))),
};
console.log(JSON.stringify(out));
