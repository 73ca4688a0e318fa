// minicni: filled in by its issue.
export {};
