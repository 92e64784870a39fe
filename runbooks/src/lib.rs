//! Lifeboat runbooks: the YAML schema, the linter and the pure planner (issue 6).
