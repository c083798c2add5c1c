// Load-balancing model and its nftables and IPVS backends. Nothing is exported yet: this package is built by a later issue.
export {};
