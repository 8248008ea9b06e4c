/** The shared objects `ldd` names for a dynamically linked program (absolute paths, loader included). */
export function parseLdd(output: string): string[] {
  const libs: string[] = [];
  for (const line of output.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)/.exec(line);
    if (m) {
      libs.push(m[1]!);
    } else if (/not found/.test(line)) {
      throw new Error(`ldd: ${line.trim()}`);
    }
  }
  return libs;
}
