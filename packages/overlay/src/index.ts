// Per-host overlay plumbing: VXLAN, gateway bridge, container interfaces. Nothing is exported yet: this package is built by a later issue.
export {};
