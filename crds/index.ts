// crosstalk's API (group crosstalk.dev, version v1alpha1): schemas, types and helpers
// shared by the operator, the agent and the CLI.
export * from './confirm.js';
export * from './diagnostic-session.js';
export * from './duration.js';
export * from './meta.js';
export * from './names.js';
export * from './node-diagnostic.js';
export * from './probes.js';
export * from './report.js';
