/**
 * Prometheus metrics of a server (GET /metrics), on a registry of its own
 * (two servers in one process do not mix their numbers):
 *
 *   framesnap_http_requests_total{action,code}       requests answered; code "Success" or the error code
 *   framesnap_http_request_duration_seconds{action}  time to answer
 *   framesnap_jobs_finished_total{state}             jobs that reached Success or Fail
 *   framesnap_job_duration_seconds{state}            submission to final state (CreationTime has whole seconds)
 *   framesnap_snapshots_total                        images written by successful jobs; rate() is snapshots per second
 *   framesnap_jobs_queued                            jobs Submitted and not started, counted at scrape time (up to 1000)
 *
 * plus prom-client's default process metrics (CPU, memory, event loop lag).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { SnapshotService } from '../service/service.js';
import type { SnapshotJob } from '../service/types.js';

/** Pages of 100 read to count the queue at most. */
const QUEUE_COUNT_PAGES = 10;

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'action' | 'code'>;
  private readonly requestSeconds: Histogram<'action'>;
  private readonly jobsFinished: Counter<'state'>;
  private readonly jobSeconds: Histogram<'state'>;
  private readonly snapshots: Counter;
  private readonly onJob = (job: SnapshotJob): void => this.jobFinished(job);
  private readonly requestCounters = new Map<string, { inc(): void }>();
  private readonly requestHistograms = new Map<string, { observe(value: number): void }>();

  constructor(private readonly service: SnapshotService) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'framesnap_http_requests_total',
      help: 'API requests answered, by action and code (Success, or the error code)',
      labelNames: ['action', 'code'],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'framesnap_http_request_duration_seconds',
      help: 'Time to answer an API request, by action',
      labelNames: ['action'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.jobsFinished = new Counter({
      name: 'framesnap_jobs_finished_total',
      help: 'Jobs that reached their final state, by state',
      labelNames: ['state'],
      registers,
    });
    this.jobSeconds = new Histogram({
      name: 'framesnap_job_duration_seconds',
      help: 'Time from a job submission to its final state (CreationTime has whole seconds)',
      labelNames: ['state'],
      buckets: [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    });
    this.snapshots = new Counter({
      name: 'framesnap_snapshots_total',
      help: 'Images written by successful jobs',
      registers,
    });
    const queued = new Gauge({
      name: 'framesnap_jobs_queued',
      help: `Jobs Submitted and not started yet, counted when scraped (at most ${QUEUE_COUNT_PAGES * 100})`,
      registers,
      collect: async () => {
        queued.set(await this.countQueued());
      },
    });
    service.on('job', this.onJob);
  }

  /** One answered request. */
  request(action: string, code: string, seconds: number): void {
    // The labelled children, made once per action and code (bounded: seven actions and the codes).
    const key = `${action}\n${code}`;
    let counter = this.requestCounters.get(key);
    if (counter === undefined) {
      counter = this.requests.labels({ action, code });
      this.requestCounters.set(key, counter);
    }
    counter.inc();
    let histogram = this.requestHistograms.get(action);
    if (histogram === undefined) {
      histogram = this.requestSeconds.labels({ action });
      this.requestHistograms.set(action, histogram);
    }
    histogram.observe(seconds);
  }

  /** Stops listening to the service. */
  dispose(): void {
    this.service.off('job', this.onJob);
  }

  private jobFinished(job: SnapshotJob): void {
    this.jobsFinished.inc({ state: job.State });
    const created = Date.parse(job.CreationTime);
    if (Number.isFinite(created)) this.jobSeconds.observe({ state: job.State }, Math.max(0, (Date.now() - created) / 1000));
    if (job.State === 'Success') this.snapshots.inc(Number(job.Count) || 0);
  }

  private async countQueued(): Promise<number> {
    let count = 0;
    let token: string | undefined;
    for (let page = 0; page < QUEUE_COUNT_PAGES; page += 1) {
      const answer = await this.service.querySnapshotJobList({
        State: 'Submitted',
        MaximumPageSize: 100,
        ...(token === undefined ? {} : { NextPageToken: token }),
      });
      count += answer.SnapshotJobList.SnapshotJob.length;
      token = answer.NextPageToken;
      if (token === undefined) break;
    }
    return count;
  }
}
