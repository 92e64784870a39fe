//! Host-side bindings generated from `plugins/wit/plugin.wit` by wasmtime's `bindgen!`.
//!
//! Every import is `async` (host calls await I/O under the step's deadline) and
//! `trappable` (a call outside the step's grants aborts the guest).

wasmtime::component::bindgen!({
    path: "wit",
    world: "plugin",
    imports: { default: async | trappable },
    exports: { default: async },
});

pub(crate) use self::lifeboat::plugin::{clock, http, kube, kv, log, types};
