/**
 * The `framesnap` command (dist/cli/main.js) run to its end as a process:
 * its exit status and what it printed.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

const execFileAsync = promisify(execFile);

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `framesnap ...args` (with `env`, else this process's environment). */
export async function cli(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], env === undefined ? {} : { env });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { status: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
