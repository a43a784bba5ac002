// Which packages compiled code imports at run time, and which of them a production install (`npm ci --omit=dev`) lacks.
import { builtinModules } from 'node:module';
import type { Metafile } from 'esbuild';

/** The package an import specifier names (`@scope/name` or `name`), or null for Node built-ins and relative paths. */
export function packageOf(specifier: string): string | null {
  if (specifier.startsWith('node:') || specifier.startsWith('.') || specifier.startsWith('/')) return null;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  return builtinModules.includes(name) ? null : name;
}

/** Packages imported at run time (esbuild's metafile of a bundle with packages external), each with the source files importing it. */
export function runtimePackages(meta: Metafile): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const [file, input] of Object.entries(meta.inputs)) {
    for (const imp of input.imports) {
      if (!imp.external) continue;
      const pkg = packageOf(imp.path);
      if (!pkg) continue;
      const files = found.get(pkg) ?? [];
      if (!files.includes(file)) files.push(file);
      found.set(pkg, files);
    }
  }
  return found;
}

/** One line per run-time package that is not in `dependencies` (what `npm ci --omit=dev` installs); empty when all are. */
export function missingFromDependencies(packages: Map<string, string[]>, dependencies: Record<string, string>): string[] {
  return [...packages]
    .filter(([pkg]) => !(pkg in dependencies))
    .map(([pkg, files]) => `${pkg} (imported by ${files.join(', ')}) is not in "dependencies": a production install lacks it`);
}
