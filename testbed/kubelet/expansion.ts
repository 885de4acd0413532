// Kubernetes' $(VAR) references in command, args and env values: $(NAME) becomes the
// variable's value when it is defined, stays as written otherwise, and $$ escapes a $.
export function expandReferences(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) =>
    name === undefined ? '$' : (env[name] ?? match),
  );
}
