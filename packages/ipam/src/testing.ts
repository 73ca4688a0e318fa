// @minicni/ipam: filled in by its issue.
export {};
