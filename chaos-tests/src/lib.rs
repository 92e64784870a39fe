//! chaos-tests: a harness that runs real `lifeboat serve` processes and injects faults.
