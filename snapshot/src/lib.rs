//! Lifeboat snapshots: capture Kubernetes resources into object storage and restore them.
//!
//! This crate will own capture (kube discovery and paged lists), normalisation, the
//! versioned pack/manifest format, zstd, `object_store`, retention/GC and restore.
//! It is built by issue 4 ("Snapshots"); until then it holds no code, only its place in
//! the workspace so that the dependency direction in `ARCHITECTURE.md` is fixed.
