/** `flowlens-agent node` (placeholder until its issue lands). */
export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    process.stdout.write('flowlens-agent node: not built yet\n');
    return 0;
  }
  process.stderr.write('flowlens-agent node: not built yet\n');
  return 1;
}
