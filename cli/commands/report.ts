// `crosstalk report SESSION`: reads the DiagnosticSession from the API and prints its
// per-victim table (or the same as one JSON object).
import { paths } from '../../common/kube/paths.js';
import { apiFailure, contextNamespace, loadKubeClient } from '../kube.js';
import { parseSession, renderReport, reportJson } from '../report.js';

export interface ReportCommandOptions {
  readonly namespace?: string | undefined;
  readonly kubeconfig?: string | undefined;
  readonly json?: boolean | undefined;
  readonly wide?: boolean | undefined;
}

export async function runReport(name: string, options: ReportCommandOptions): Promise<void> {
  const client = loadKubeClient(options.kubeconfig);
  const namespace = options.namespace ?? contextNamespace(client);
  let raw: unknown;
  try {
    raw = await client.get(paths.sessions(namespace, name));
  } catch (err) {
    throw apiFailure(err, `diagnosticsession "${name}" in namespace "${namespace}"`);
  }
  const session = parseSession(raw);
  process.stdout.write(
    options.json ? `${JSON.stringify(reportJson(session))}\n` : `${renderReport(session, { wide: options.wide })}\n`,
  );
}
