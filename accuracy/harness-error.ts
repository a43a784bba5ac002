/** The harness could not run a scenario soundly (not an accuracy miss: those are only reported). */
export class HarnessError extends Error {}
