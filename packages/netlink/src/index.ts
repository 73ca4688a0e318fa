// @minicni/netlink: filled in by its issue.
export {};
