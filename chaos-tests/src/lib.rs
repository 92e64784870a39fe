//! chaos-tests: run real `lifeboat serve` processes on 127.0.0.1 and break things.
//!
//! - [`Fleet`] starts N nodes from generated configs (the same renderer `lifeboat dev`
//!   uses), finds the leader, kills (`SIGKILL`), pauses (`SIGSTOP`/`SIGCONT`), restarts
//!   nodes from their data dirs, and cuts a node off from the others.
//! - [`FaultProxy`] sits on every node-to-node path (Raft and API forwarding), one per
//!   ordered pair, so a partition is a set of proxies switched to "cut".
//! - [`wait_until`] awaits a condition with a deadline; tests never sleep blindly.
//!
//! Every fleet lives in a temporary directory and is killed when dropped.

mod binary;
mod fleet;
mod proxy;
mod wait;

pub use binary::lifeboat_binary;
pub use fleet::{Fleet, FleetOptions, NodeHandle};
pub use proxy::FaultProxy;
pub use wait::wait_until;
