// What every server launcher here (nginx.mjs, swift-s3.mjs, redis.mjs) needs
// of its processes: free loopback ports, a group of child processes that dies
// with this process, a start that waits for an answer and tells a missing
// package from a port taken in between, and up to three tries.
//
// Plain ESM, no test framework: the tests (test/helpers/*.ts add vitest's
// hooks) and the benchmark (bench/) run the same servers.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/** A port nobody listens on now: listen on port 0, read the port, close. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once the child has exited (at once when it has). */
export function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Whether a server on `port` answers the one-line `command` with a line that
 * starts with `replyPrefix` (a plain text exchange, no client library: redis's
 * PING, memcached's version).
 */
export function answersLine(port, command, replyPrefix) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith(replyPrefix));
    });
  });
}

/**
 * The processes of one server, started by launch(), stopped together by
 * stop(), which then removes the server's folder `dir` and runs what
 * onStop() was given. Until stop(), this process's 'exit' kills them: a test
 * file whose beforeAll failed, or a benchmark that threw, leaves no server
 * behind.
 */
export function processGroup(dir) {
  const children = [];
  const cleanups = [];
  let output = '';
  let spawnError;
  const killOnExit = () => children.forEach(({ child }) => child.kill('SIGKILL'));
  process.once('exit', killOnExit);
  return {
    /**
     * Starts `command` through setpriv (util-linux), which has the kernel send
     * it `deathSignal` when this process dies in any way: vitest may end a
     * test fork without an 'exit' event, and a crashed benchmark gives none.
     */
    launch(name, command, args, deathSignal) {
      const child = spawn('setpriv', ['--pdeathsig', deathSignal, '--', command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      // Only the last 20 kB: enough to say why a server failed.
      const keep = (chunk) => void (output = (output + `[${name}] ${chunk.toString()}`).slice(-20_000));
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.once('error', (error) => (spawnError ??= error));
      children.push({ name, child });
      return child;
    },
    /** What the processes wrote, each chunk after its process's name. */
    output: () => output.trim(),
    /** The first error of a spawn (no setpriv), else undefined. */
    spawnError: () => spawnError,
    /** The first process that has exited, as { name, child }, else undefined. */
    gone: () => children.find(({ child }) => child.exitCode !== null || child.signalCode !== null),
    onStop(cleanup) {
      cleanups.push(cleanup);
    },
    /** SIGTERM to each process, SIGKILL after 5 s; resolves once all have gone and `dir` is removed. */
    async stop() {
      process.off('exit', killOnExit);
      await Promise.all(
        children.map(async ({ child }) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited(child);
          clearTimeout(timer);
        }),
      );
      rmSync(dir, { recursive: true, force: true });
      for (const cleanup of cleanups) cleanup();
    },
  };
}

/** An error saying what to install, with code ENOENT (or the spawn's own code): the benchmark skips a case on it. */
export function missingPackage(message, code = 'ENOENT', options = undefined) {
  return Object.assign(new Error(message, options), { code });
}

/**
 * Waits for a group's server to answer: polls `ready()` every `intervalMs`,
 * which resolves true once the server answers (else false, or a string
 * saying what it still waits for). Resolves with null once it does, or with
 * `{ failed }` after stopping the group when a process exited (most likely
 * another process took its port in between: the caller tries again) or
 * nothing answered within `timeoutMs`; `details()` adds to that what the
 * server logged elsewhere. Stops the group and throws missingPackage() when
 * setpriv or a program is not here: `install` says what to install.
 */
export async function waitUntilReady(group, { server, install, timeoutMs, intervalMs, ready, details = () => '' }) {
  const deadline = Date.now() + timeoutMs;
  let waitingFor = '';
  while (Date.now() < deadline) {
    const spawnError = group.spawnError();
    if (spawnError !== undefined) {
      await group.stop();
      throw missingPackage(`${server} could not start (${spawnError.message}); ${install}`, spawnError.code);
    }
    const gone = group.gone();
    // 127: setpriv found no such program.
    if (gone?.child.exitCode === 127) {
      const output = group.output();
      await group.stop();
      throw missingPackage(`${server} could not start (${output}); ${install}`);
    }
    if (gone !== undefined) {
      const failed = `${gone.name} exited (${gone.child.exitCode ?? gone.child.signalCode})\n${group.output()}\n${details()}`.trim();
      await group.stop();
      return { failed };
    }
    const answer = await ready();
    if (answer === true) return null;
    if (typeof answer === 'string') waitingFor = ` (${answer})`;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  const failed = `no answer within ${timeoutMs} ms${waitingFor}\n${group.output()}\n${details()}`.trim();
  await group.stop();
  return { failed };
}

/** Up to three starts of `startOnce()`, which resolves with the server or with `{ failed }` when another try may do. */
export async function startWithRetries(server, startOnce) {
  let failure = '';
  for (let tries = 0; tries < 3; tries++) {
    const started = await startOnce();
    if (!('failed' in started)) return started;
    failure = started.failed;
  }
  throw new Error(`${server} did not start:\n${failure}`);
}
