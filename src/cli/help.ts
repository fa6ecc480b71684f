/**
 * The help of `framesnap` and of each command: what it does, its options,
 * examples and exit statuses. Printed by `--help`, `-h`, `help [COMMAND]`.
 */
export type CommandName = 'snapshot' | 'submit' | 'worker' | 'serve';
export const COMMANDS: readonly CommandName[] = ['snapshot', 'submit', 'worker', 'serve'];

const EXIT_STATUS = `Exit status:
  0    success
  1    the work failed: the video could not give the image, or the job failed
  2    a bad request, refused before any work: usage, options, JSON, missing files
  3    an internal error (InternalError): a bug, or the system failed (the addon or
       sharp could not load, the disk is full)
  130  interrupted by SIGINT (Ctrl-C); 143: by SIGTERM. The work is cancelled and
       what it wrote is removed; a second signal exits at once
  141  standard output was closed early (framesnap ... -o - | head -c 10); nothing is printed
Errors go to stderr as one line: framesnap: <Code>: <message>`;

const GENERAL = (version: string): string => `framesnap ${version}: fast, frame-exact snapshots from video files

Usage:
  framesnap snapshot FILE --time TIME -o OUT [options]
      One image of the frame at TIME, as JPEG, WebP, AVIF or PNG.
  framesnap submit --root DIR --input JSON --config JSON [options]
      A SubmitSnapshotJob of the cloud API, run on local folders: one image,
      a series, sprite sheets, a WebVTT track.
  framesnap worker --root DIR (--database FILE | --redis URL) [options]
      Runs the queued jobs of a shared store until SIGTERM or Ctrl-C.
  framesnap serve --root DIR --access-keys FILE [options]
      The cloud API over HTTP, for its official SDKs, until SIGTERM or Ctrl-C.
  framesnap help [COMMAND]        this help, or a command's (also COMMAND --help)
  framesnap --version             framesnap's version

Examples:
  framesnap snapshot movie.mp4 --time 1:30 -o poster.jpg
  framesnap submit --root ./buckets --input @input.json --config @series.json

${EXIT_STATUS}

Debug output: NODE_DEBUG=framesnap framesnap ...
`;

const SNAPSHOT = `framesnap snapshot: one image of the frame at a time

Usage:
  framesnap snapshot FILE --time TIME -o OUT [options]

Takes the exact frame at TIME (the first frame shown at or after it, as
ffmpeg -ss gives) and writes it as an image. FILE may be an https:// or
http:// URL, read by range requests (only the parts the frame needs). OUT's extension names the format:
.jpg/.jpeg, .webp, .avif or .png; -o - writes the image to standard output
(JPEG unless --format says otherwise). Then prints which frame it took on
stderr: its time, whether it is a keyframe, its size and format.

Options:
  -t, --time TIME            milliseconds (5000), seconds (5s, 1.5s) or a clock
                             (01:05, 00:01:05.250); nothing else
  -o, --output OUT           the image file, or - for standard output
  -f, --format FORMAT        jpeg, webp, avif or png: with -o -, or for a name
                             without one of the extensions; must agree with OUT's
      --frame-type TYPE      normal (default): the exact frame;
                             intra: the keyframe at or before TIME (faster)
      --width N              8..4096; alone, the height follows the aspect ratio
      --height N             8..4096; alone, the width follows the aspect ratio
      --quality Q            1..100 (default 90) for jpeg, webp and avif
      --timeout TIME         give up after this long (SnapshotTimeOut)
      --limit-input-pixels N   refuse videos whose frames are larger (default 8192x8192)
      --limit-output-pixels N  refuse images larger than this (default 8192x8192)
      --allow-private-network  let a URL reach loopback, private and link-local
                             addresses (refused by default)
      --ca-file FILE         trust these PEM certificate authorities for https
      --json                 print what was taken as JSON on stdout instead
      --quiet                print nothing when it succeeds
  -h, --help                 this help

Examples:
  framesnap snapshot movie.mp4 --time 1:30 -o poster.jpg
  framesnap snapshot movie.mp4 --time 5s --width 320 -o thumb.webp
  framesnap snapshot movie.mp4 --time 00:10:00.500 --frame-type intra --json -o key.png
  framesnap snapshot movie.mp4 --time 1500 -o - | curl -T - https://example.com/up
  framesnap snapshot https://media.example.com/movie.mp4 --time 59:00 -o late.jpg

The JSON of --json:
  {"file", "output", "format", "requestedMs", "timeMs", "keyframe", "width", "height", "bytes"}

${EXIT_STATUS}
`;

const SUBMIT = `framesnap submit: a SubmitSnapshotJob, run on local folders

Usage:
  framesnap submit --root DIR --input JSON --config JSON [options]

Runs one job of the cloud API's SubmitSnapshotJob (the request's Input and
SnapshotConfig, as in the API's documentation) with buckets as folders:
bucket B is DIR/B. Prints the response JSON on stdout. A job with Num or
Interval is asynchronous: the command waits for it to finish, showing its
progress, and prints its final state.

JSON arguments (--input, --config) are the JSON itself, @FILE to read it from
a file, or - to read it from standard input (one of them).

TIME values are milliseconds (5000), seconds (5s, 1.5s) or a clock (01:05).

Options:
      --root DIR             the folder holding one folder per bucket
      --buckets FILE         a JSON file of bucket name -> folder, or -> an S3
                             store {endpoint, region, accessKeyId, ...}
                             (docs/object-storage.md); keep it private
      --input JSON           the video: {"Bucket": "in", "Object": "movie.mp4"}
      --config JSON          the SnapshotConfig: {"OutputFile": {...}, "Time": "5000", ...}
      --user-data TEXT       the job's UserData
      --pipeline-id ID       the job's PipelineId
      --database FILE        queue the job in this SQLite store (see framesnap worker)
      --redis URL            queue the job in this Redis store (see framesnap worker)
      --no-wait              print the Submitted answer at once; the job still runs
                             to its end before the command exits, unless a store
                             (--database, --redis) keeps it for its workers
      --progress             show progress on stderr even when it is not a terminal
                             (plain lines: images, percent, rate, ETA)
      --no-progress          show no progress (default on a terminal: a bar)
      --workers N            pool workers (default 1; with a store 0: its workers run it)
      --sync-timeout TIME    deadline of a one-image job (default 5s)
      --isolation MODE       thread (default) or process: decode in a child process,
                             so a crash on a hostile file fails only the job
      --limit-input-pixels N   refuse videos whose frames are larger (default 8192x8192)
      --limit-output-pixels N  refuse images larger than this (default 8192x8192)
      --limit-sprite-pixels N  refuse sprite sheets larger than this (default 8192x8192)
  -h, --help                 this help

Examples:
  framesnap submit --root ./buckets \\
    --input '{"Bucket":"in","Object":"movie.mp4"}' \\
    --config '{"OutputFile":{"Bucket":"out","Object":"{Count}.jpg"},"Time":"0","Interval":"10","Num":"30"}'
  framesnap submit --root ./buckets --input @input.json --config @config.json
  jq -c '.Time = "60000"' config.json | framesnap submit --root ./buckets --input @input.json --config -

Ctrl-C (SIGINT) or SIGTERM cancels the job: the images, sprites and temporary
files it wrote are removed, and the command exits with 130 or 143.

${EXIT_STATUS}
`;

const WORKER = `framesnap worker: runs the queued jobs of a shared store

Usage:
  framesnap worker --root DIR (--database FILE | --redis URL) [options]

Takes asynchronous jobs (those with Num or Interval) from the store, in
submission order per pipeline, and runs them with buckets as folders of DIR
(every worker and every submitting service must see the same folders). Runs
until SIGTERM or SIGINT (Ctrl-C): then it takes no more jobs, gives the
running ones the grace to finish, and hands the rest back to the store, which
runs them again from the start; it exits with 0. A second signal exits at once.

A worker killed outright (SIGKILL, a crash, a lost machine) loses nothing: its
jobs run again from the start in another worker, once their lock runs out
(Redis: --lock-duration; SQLite on this machine: as soon as another worker
sees the process is gone). A job that ran more than once shows "Attempts".

Options:
      --root DIR             the folder holding one folder per bucket
      --buckets FILE         a JSON file of bucket name -> folder, or -> an S3
                             store {endpoint, region, accessKeyId, ...}
                             (docs/object-storage.md); keep it private
      --database FILE        a SQLite store (this machine's processes share it)
      --redis URL            a Redis store through BullMQ: redis://HOST:PORT
      --concurrency N        jobs at a time (default: the number of CPUs)
      --grace TIME           how long running jobs may finish after a signal (default 30s)
      --lock-duration TIME   how long a job stays this worker's without a sign of
                             life (default 30s; renewed while it runs)
      --subscribe TOPIC=URL[,TOPIC=URL...]
                             POST the completion messages of these pipeline topics
                             to these URLs (a job's message is sent by the worker
                             that finished it; queues need nothing: they are in the store)
      --isolation MODE       thread (default) or process: decode in child processes
      --limit-input-pixels N   refuse videos whose frames are larger (default 8192x8192)
      --limit-output-pixels N  refuse images larger than this (default 8192x8192)
      --limit-sprite-pixels N  refuse sprite sheets larger than this (default 8192x8192)
  -h, --help                 this help

Examples:
  framesnap worker --root /srv/buckets --database /srv/jobs.db --concurrency 2
  framesnap worker --root /mnt/shared/buckets --redis redis://10.0.0.5:6379 --grace 1m

${EXIT_STATUS}
`;

const SERVE = `framesnap serve: the cloud API over HTTP, for its official SDKs

Usage:
  framesnap serve --root DIR --access-keys FILE [options]

Answers the cloud API's SubmitSnapshotJob, QuerySnapshotJobList, AddPipeline,
UpdatePipeline, QueryPipelineList, SearchPipeline and DeletePipeline as POST /
RPC calls, as Alibaba Cloud's SDKs send them: point a client at host:port with
protocol http (docs/server.md). Buckets are folders of DIR. Requests must be
signed (V3 ACS3-HMAC-SHA256 or V2 HMAC-SHA1) with a key of --access-keys.
GET /healthz says whether the job store answers; GET /metrics is Prometheus text.

Jobs are kept in SQLite (DIR/.framesnap/jobs.db unless --database or --redis),
so a restart loses none. SIGTERM or SIGINT (Ctrl-C): no new connections, the
requests in flight are answered, running jobs get the grace to finish and the
rest are handed back to the store (they run after the restart); exits with 0.
A second signal exits at once. SIGHUP reads the access-key file again (a file
that is not valid leaves the keys as they were). Logs are JSON lines on stdout (pino).

Options:
      --root DIR             the folder holding one folder per bucket
      --buckets FILE         a JSON file of bucket name -> folder, or -> an S3
                             store {endpoint, region, accessKeyId, ...}
                             (docs/object-storage.md); keep it private
      --access-keys FILE     a JSON object of AccessKeyId to AccessKeySecret:
                             {"LTAI5tExample": "secret", ...}
      --insecure-no-auth     take unsigned requests; for local experiments only
      --host HOST            the address to listen on (default 127.0.0.1)
      --port PORT            the port (default 8080; 0: any free one)
      --database FILE        the SQLite store (default DIR/.framesnap/jobs.db)
      --redis URL            a Redis store through BullMQ instead: redis://HOST:PORT
      --workers N            pool workers (default: the number of CPUs; 0 with a
                             shared store: framesnap worker processes run the jobs)
      --sync-timeout TIME    deadline of a one-image job (default 2.5s: the SDK's
                             default client gives up after 3 s)
      --max-queue N          queued jobs beyond which submissions get Throttling
                             (default 1000)
      --rate-limit N         requests per second per access key (default 5000; 0: none)
      --trust-proxy ADDRS    the reverse proxies (addresses or CIDR ranges, comma-
                             separated) whose X-Forwarded-For names the client
      --grace TIME           how long running jobs may finish after a signal (default 30s)
      --log-level LEVEL      trace, debug, info (default), warn, error, fatal or silent
      --isolation MODE       thread (default) or process: decode in child processes
      --limit-input-pixels N   refuse videos whose frames are larger (default 8192x8192)
      --limit-output-pixels N  refuse images larger than this (default 8192x8192)
      --limit-sprite-pixels N  refuse sprite sheets larger than this (default 8192x8192)
  -h, --help                 this help

Examples:
  framesnap serve --root /srv/buckets --access-keys /etc/framesnap/keys.json
  framesnap serve --root /srv/buckets --access-keys keys.json --host 0.0.0.0 --port 9000 \\
    --redis redis://10.0.0.5:6379 --workers 0

${EXIT_STATUS}
`;

/** The help of `command`, or framesnap's own. */
export function helpText(command: CommandName | undefined, version: string): string {
  if (command === 'snapshot') return SNAPSHOT;
  if (command === 'submit') return SUBMIT;
  if (command === 'worker') return WORKER;
  if (command === 'serve') return SERVE;
  return GENERAL(version);
}
