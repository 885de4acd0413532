// Label selectors as Kubernetes evaluates them, plus the syntax checks the CRD schema leaves
// to the operator (label keys and values inside maps).
import type { LabelSelector } from '../../crds/meta.js';

type Labels = Readonly<Record<string, string>> | undefined;

/** True when `labels` satisfy every matchLabels entry and every matchExpressions requirement. */
export function matchesSelector(selector: LabelSelector, labels: Labels): boolean {
  const have = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (have[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(have, key);
    switch (operator) {
      case 'In':
        if (!present || !values.includes(have[key]!)) return false;
        break;
      case 'NotIn':
        if (present && values.includes(have[key]!)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
    }
  }
  return true;
}

/** True when `labels` carry every entry of a plain label map (a nodeSelector). */
export function matchesLabels(required: Labels, labels: Labels): boolean {
  return Object.entries(required ?? {}).every(([k, v]) => labels?.[k] === v);
}

const namePart = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const prefixPart = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `key` is not a valid label key, or undefined. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !prefixPart.test(prefix)))
    return `label key "${key}": the prefix must be a DNS subdomain (lowercase, at most 253 characters)`;
  if (name.length > 63 || !namePart.test(name))
    return `label key "${key}": the name must be 1-63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  return undefined;
}

/** Why `value` is not a valid label value, or undefined. */
export function labelValueProblem(key: string, value: string): string | undefined {
  if (value === '' || (value.length <= 63 && namePart.test(value))) return undefined;
  return `label value "${value}" of "${key}": at most 63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
}

/** Every syntax problem of a selector's keys and values (empty when valid). */
export function selectorProblems(selector: LabelSelector): string[] {
  const problems: string[] = [];
  for (const [k, v] of Object.entries(selector.matchLabels ?? {}))
    problems.push(...present(labelKeyProblem(k), labelValueProblem(k, v)));
  for (const r of selector.matchExpressions ?? []) {
    problems.push(...present(labelKeyProblem(r.key)));
    for (const v of r.values ?? []) problems.push(...present(labelValueProblem(r.key, v)));
  }
  return problems;
}

/** Problems of a plain label map (spec.nodeSelector). */
export function labelMapProblems(labels: Labels): string[] {
  return Object.entries(labels ?? {}).flatMap(([k, v]) => present(labelKeyProblem(k), labelValueProblem(k, v)));
}

function present(...items: (string | undefined)[]): string[] {
  return items.filter((i): i is string => i !== undefined);
}

/** The selector in kubectl's `-l` syntax, for messages: `app=checkout,tier in (web,api)`. */
export function formatSelector(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    if (operator === 'Exists') parts.push(key);
    else if (operator === 'DoesNotExist') parts.push(`!${key}`);
    else parts.push(`${key} ${operator === 'In' ? 'in' : 'notin'} (${values.join(',')})`);
  }
  return parts.length ? parts.join(',') : '(every pod)';
}

/** A label map in kubectl's syntax: `disk=ssd,zone=a`. */
export function formatLabels(labels: Labels): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
