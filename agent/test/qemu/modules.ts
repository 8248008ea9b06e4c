/**
 * Kernel modules for the VM: which .ko files to load and in which order. Debian's image package carries no
 * modules.dep (depmod runs at install time, and nothing is installed here), so the order comes from each
 * module's own `depends=` entry in its .modinfo section.
 */

/** Module names are compared with '-' and '_' as the same character, as the kernel does. */
export function moduleName(fileOrName: string): string {
  const base = fileOrName.split('/').pop() ?? fileOrName;
  return base.replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

/** The `depends=` list of an uncompressed .ko (its .modinfo strings are NUL-terminated key=value pairs). */
export function modinfoDepends(ko: Uint8Array): string[] {
  const text = Buffer.from(ko).toString('latin1');
  const at = text.indexOf('\0depends=');
  if (at < 0) {
    return [];
  }
  const start = at + '\0depends='.length;
  const value = text.slice(start, text.indexOf('\0', start));
  return value === '' ? [] : value.split(',').map(moduleName);
}

/**
 * The modules to load for `wanted`, each after everything it depends on, each once. Names missing from
 * `available` (built into the kernel, per modules.builtin) are dropped; unknown names are an error.
 */
export function loadOrder(
  wanted: string[],
  dependsOf: (name: string) => string[],
  available: Set<string>,
  builtin: Set<string>
): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (raw: string, chain: string[]) => {
    const name = moduleName(raw);
    if (state.get(name) === 'done') {
      return;
    }
    if (state.get(name) === 'visiting') {
      throw new Error(`module dependency cycle: ${[...chain, name].join(' -> ')}`);
    }
    if (!available.has(name)) {
      if (builtin.has(name)) {
        state.set(name, 'done');
        return;
      }
      throw new Error(
        `kernel module ${name} is neither in the package nor built in (needed by ${chain.join(' -> ') || 'the suite'})`
      );
    }
    state.set(name, 'visiting');
    for (const dep of dependsOf(name)) {
      visit(dep, [...chain, name]);
    }
    state.set(name, 'done');
    order.push(name);
  };
  for (const w of wanted) {
    visit(w, []);
  }
  return order;
}
