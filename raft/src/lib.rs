//! lifeboat-raft: openraft wiring generic over an application state machine.
