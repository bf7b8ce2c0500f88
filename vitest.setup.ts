/**
 * Runs before every test file. The runtime's default logger writes warnings
 * (restarts, close timeouts, stalls) through `console`, and fault tests
 * cause many: its lines are dropped here. Tests that check events pass a
 * logger of their own.
 */
for (const method of ['warn', 'error'] as const) {
  const write = console[method].bind(console);
  console[method] = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('[tributary] ')) return;
    write(...args);
  };
}
