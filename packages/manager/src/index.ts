// Replicated store, CA, control API, allocator, orchestrators, scheduler, dispatcher. Nothing is exported yet: this package is built by a later issue.
export {};
