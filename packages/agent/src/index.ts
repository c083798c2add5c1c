// Join and session, task executor, status reports, node-local state. Nothing is exported yet: this package is built by a later issue.
export {};
