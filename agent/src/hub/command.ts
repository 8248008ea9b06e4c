/** `flowlens-agent hub` (placeholder until its issue lands). */
export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    process.stdout.write('flowlens-agent hub: not built yet\n');
    return 0;
  }
  process.stderr.write('flowlens-agent hub: not built yet\n');
  return 1;
}
