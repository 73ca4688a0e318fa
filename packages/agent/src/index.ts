// @minicni/agent: filled in by its issue.
export {};
