// The wasm half of `cargo xtask bench`: times the ingest core compiled to wasm32 in Node's V8
// (the engine workerd uses) on the same files and workloads as the native `ingest-bench measure`.
// usage: node run.mjs <ingest_wasm_bench.wasm> <file.csv> <file.xlsx> <runs>
// prints one JSON line per workload: {name, bytes, rows, secs: [every run]}
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

const [wasmPath, csvPath, xlsxPath, runsArg] = process.argv.slice(2);
if (!wasmPath || !csvPath || !xlsxPath) {
  console.error("usage: node run.mjs <module.wasm> <file.csv> <file.xlsx> [runs]");
  process.exit(2);
}
const runs = Math.max(1, Number(runsArg ?? 3));
const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {});
const wasm = instance.exports;

function lastError() {
  const bytes = new Uint8Array(wasm.memory.buffer, wasm.bench_error_ptr(), wasm.bench_error_len());
  return new TextDecoder().decode(bytes);
}

// Copies a file into linear memory once; the copy is outside the timed region, as the native
// side reads its file before timing too.
function load(path) {
  const bytes = readFileSync(path);
  const ptr = wasm.bench_alloc(bytes.length);
  new Uint8Array(wasm.memory.buffer, ptr, bytes.length).set(bytes);
  return { ptr, len: bytes.length };
}

for (const [name, path, fn] of [
  ["csv", csvPath, wasm.bench_csv_stream],
  ["xlsx", xlsxPath, wasm.bench_ingest_whole],
]) {
  const file = load(path);
  const secs = [];
  let rows = 0;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    rows = fn(file.ptr, file.len);
    secs.push((performance.now() - start) / 1000);
    if (rows < 0) {
      console.error(`${name}: ${lastError()}`);
      process.exit(1);
    }
  }
  wasm.bench_free(file.ptr, file.len);
  console.log(JSON.stringify({ name, bytes: file.len, rows, secs }));
}
