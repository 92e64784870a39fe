//! Lifeboat orchestrator library.
