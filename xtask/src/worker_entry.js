// The Worker's entry module. `cargo xtask build-worker` writes it next to wasm-bindgen's output
// (`index.js`, `--target module`) and esbuild bundles both into build/worker/index.js, the file
// wrangler.toml's `main` names. It does what worker-build's generated shim does for a Worker
// that only handles `fetch` and `scheduled`: hand each event to the Rust handler with env and
// ctx, and start a fresh wasm instance after a trap (a panic aborts the instance; wasm-bindgen's
// `--experimental-reset-state-function` gives us `__wbg_reset_state` for exactly this).
//
// Design decision: two explicit methods on a WorkerEntrypoint subclass instead of a generated
// list of handlers behind Proxy objects: we export no Durable Object classes, so there is
// nothing to generate, and the recovery path is readable in one screen.
import { WorkerEntrypoint } from "cloudflare:workers";
import * as rust from "./index.js";

Error.stackTraceLimit = 100;

// Shared with the worker crate's panic hook, which sets `criticalError` when Rust panics.
const instanceState = rust.__worker_init_state();

function resetIfBroken() {
  if (instanceState.criticalError) {
    console.log("Reinitializing Wasm application");
    rust.__wbg_reset_state();
    instanceState.criticalError = false;
    instanceState.instanceId++;
  }
}

function noteIfCritical(error) {
  // A RuntimeError is a trap (unreachable after a panic, out of memory): the instance is unusable.
  if (error instanceof WebAssembly.RuntimeError) {
    console.error("Critical", error);
    instanceState.criticalError = true;
  }
}

addEventListener("error", (event) => noteIfCritical(event.error));

async function handle(handler, entrypoint, event) {
  resetIfBroken();
  try {
    return await handler(event, entrypoint.env, entrypoint.ctx);
  } catch (error) {
    noteIfCritical(error);
    throw error;
  }
}

export default class HybridStore extends WorkerEntrypoint {
  fetch(request) {
    return handle(rust.fetch, this, request);
  }

  scheduled(controller) {
    return handle(rust.scheduled, this, controller);
  }
}
