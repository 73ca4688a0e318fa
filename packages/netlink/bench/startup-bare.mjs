// The baseline of bench/startup.mjs: a node process that does nothing.
