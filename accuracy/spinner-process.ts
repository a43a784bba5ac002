// Keeps one CPU out of its idle state at the lowest priority (see keep-awake.ts); exits when the harness goes away.
const SLICE_MS = 20;

const spin = () => {
  const end = performance.now() + SLICE_MS;
  while (performance.now() < end) {
    // Busy on purpose: a CPU that never idles wakes the processes that share it without an idle exit.
  }
  // Yields to the event loop between slices so the parent's disconnect is seen.
  setImmediate(spin);
};
process.on('disconnect', () => process.exit(0));
spin();
