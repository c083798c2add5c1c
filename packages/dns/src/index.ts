// Embedded DNS server and its name table. Nothing is exported yet: this package is built by a later issue.
export {};
