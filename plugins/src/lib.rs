//! Lifeboat plugins: custom runbook steps as sandboxed WebAssembly components.
//!
//! This crate will own the WIT interface, the wasmtime host, limits, capability grants
//! and the compiled-module cache. It is built by issue 8 ("WASM plugin steps"); until then
//! it holds no code, only its place in the workspace.
