/**
 * Completion notifications (SPEC section 7), in the manner of the message
 * service the cloud API uses: a pipeline's NotifyConfig names a topic (pushed
 * to every subscriber: an in-process function, or an HTTP(S) endpoint that
 * gets a POST with the JSON body) or a queue (kept until read with
 * receiveMessage). Delivery never blocks or fails a job: it runs after the
 * job has finished, with bounded retries, and its outcome is reported back.
 * With a durable store the queues are the store's (any instance reads what
 * any process sent); topics' subscribers are those of the process that
 * finished the job.
 */
import { randomUUID } from 'node:crypto';

import { ErrorCodes, SnapshotError } from '../../core/errors.js';
import { checkKeys, expectFields, expectInteger, invalid, parseJsonObject } from '../../core/validate.js';
import type { MessageStore } from '../stores/backend.js';
import type { MNSMessageResult, NotificationMessage, NotifyConfig, NotifyDeliveryOptions, ReceivedMessage, Subscriber } from '../types.js';

/** How a topic's subscribers are tried: the service's notifyDelivery option, every field filled. */
export type DeliveryPolicy = Readonly<Required<NotifyDeliveryOptions>>;

export const DEFAULT_DELIVERY: DeliveryPolicy = Object.freeze({ attempts: 4, firstBackoffMs: 200, attemptTimeoutMs: 5_000 });
/** Bounds of the notifyDelivery fields. */
export const MAX_DELIVERY_ATTEMPTS = 10;
export const MAX_DELIVERY_BACKOFF_MS = 60_000;
export const MAX_DELIVERY_TIMEOUT_MS = 600_000;
const DELIVERY_FIELDS = ['attempts', 'firstBackoffMs', 'attemptTimeoutMs'];

/** The service's notifyDelivery option, validated, defaults filled in; undefined: the default policy. */
export function resolveDeliveryPolicy(value: unknown): DeliveryPolicy {
  if (value === undefined) return DEFAULT_DELIVERY;
  const fields = expectFields('notifyDelivery', value, DELIVERY_FIELDS, { expected: `an object with ${DELIVERY_FIELDS.join(', ')}` });
  const field = (name: keyof DeliveryPolicy, min: number, max: number): number =>
    fields[name] === undefined ? DEFAULT_DELIVERY[name] : expectInteger(`notifyDelivery.${name}`, fields[name], min, max);
  return Object.freeze({
    attempts: field('attempts', 1, MAX_DELIVERY_ATTEMPTS),
    firstBackoffMs: field('firstBackoffMs', 0, MAX_DELIVERY_BACKOFF_MS),
    attemptTimeoutMs: field('attemptTimeoutMs', 1, MAX_DELIVERY_TIMEOUT_MS),
  });
}
/** Messages a queue keeps before refusing more. */
export const MAX_QUEUE_MESSAGES = 10_000;
export const MAX_WAIT_SECONDS = 30;
/** How often a reader waiting on a durable store's queue looks for other processes' messages. */
const STORE_POLL_MS = 100;

const NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,255}$/;
const NOTIFY_FIELDS = ['Topic', 'QueueName'] as const;

/** Validates a NotifyConfig given as JSON text or an object; undefined for none. */
export function parseNotifyConfig(value: unknown): NotifyConfig | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const fields = parseJsonObject('NotifyConfig', value);
  checkKeys(fields, NOTIFY_FIELDS, 'NotifyConfig', 'field');
  const config: NotifyConfig = {};
  for (const key of NOTIFY_FIELDS) {
    const name = fields[key];
    if (name === undefined || name === '') continue;
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw invalid('a name of letters, digits and -, at most 256 characters', `NotifyConfig.${key}`, name);
    }
    config[key] = name;
  }
  if (config.Topic === undefined && config.QueueName === undefined) return undefined;
  if (config.Topic !== undefined && config.QueueName !== undefined) {
    throw new SnapshotError(ErrorCodes.InvalidParameter, 'NotifyConfig takes a Topic or a QueueName, not both');
  }
  return config;
}

interface MessageQueue {
  messages: ReceivedMessage[];
  /** Local readers waiting: handed the message (memory), or woken to look in the store (null). */
  waiting: Set<(message: ReceivedMessage | null) => void>;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function deliverOnce(subscriber: Subscriber, message: NotificationMessage, timeoutMs: number): Promise<void> {
  if (typeof subscriber === 'function') {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the subscriber took longer than ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([Promise.resolve().then(() => subscriber(structuredClone(message))), timeout]);
    } finally {
      clearTimeout(timer);
    }
    return;
  }
  const response = await fetch(subscriber, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(message),
    signal: AbortSignal.timeout(timeoutMs),
  });
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) throw new Error(`${subscriber} answered HTTP ${response.status}`);
}

export class Notifier {
  private readonly topics = new Map<string, Set<Subscriber>>();
  private readonly queues = new Map<string, MessageQueue>();
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly policy: DeliveryPolicy = DEFAULT_DELIVERY,
    /** A durable store's queues; absent: the queues are this process's. */
    private readonly store?: MessageStore,
  ) {}

  /** Adds a subscriber to a topic; returns the function that removes it. */
  subscribe(topic: string, subscriber: Subscriber): () => void {
    if (typeof topic !== 'string' || !NAME.test(topic)) {
      throw invalid('a topic name of letters, digits and -, at most 256 characters', 'topic', topic);
    }
    if (typeof subscriber === 'string') {
      let url: URL;
      try {
        url = new URL(subscriber);
      } catch {
        throw invalid('a function or an http(s) URL', 'subscriber', subscriber);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw invalid('a function or an http(s) URL', 'subscriber', subscriber);
      }
    } else if (typeof subscriber !== 'function') {
      throw invalid('a function or an http(s) URL', 'subscriber', subscriber);
    }
    let subscribers = this.topics.get(topic);
    if (subscribers === undefined) {
      subscribers = new Set();
      this.topics.set(topic, subscribers);
    }
    // A wrapper, so the same function subscribed twice is two subscriptions.
    const entry: Subscriber = typeof subscriber === 'string' ? subscriber : (message) => subscriber(message);
    subscribers.add(entry);
    return () => {
      subscribers.delete(entry);
    };
  }

  /**
   * Sends one message where `config` says; resolves with the outcome once
   * every subscriber has it or has failed all its tries.
   */
  publish(config: NotifyConfig, message: NotificationMessage): Promise<MNSMessageResult> {
    const sent = config.QueueName !== undefined ? this.enqueue(config.QueueName, message) : this.push(config.Topic!, message);
    this.pending.add(sent);
    void sent.finally(() => this.pending.delete(sent));
    return sent;
  }

  /** The oldest message of a queue, waiting up to waitSeconds for one; null when none came. */
  async receiveMessage(queueName: string, options: { waitSeconds?: number } = {}): Promise<ReceivedMessage | null> {
    if (typeof queueName !== 'string' || !NAME.test(queueName)) {
      throw invalid('a queue name of letters, digits and -, at most 256 characters', 'queueName', queueName);
    }
    const waitSeconds = options.waitSeconds ?? 0;
    if (typeof waitSeconds !== 'number' || !(waitSeconds >= 0 && waitSeconds <= MAX_WAIT_SECONDS)) {
      throw invalid(`a number of seconds between 0 and ${MAX_WAIT_SECONDS}`, 'waitSeconds', waitSeconds);
    }
    const queue = this.queue(queueName);
    if (this.store !== undefined) return this.receiveStored(this.store, queueName, queue, waitSeconds);
    const first = queue.messages.shift();
    if (first !== undefined || waitSeconds === 0) return first ?? null;
    return new Promise((resolve) => {
      const take = (message: ReceivedMessage | null): void => {
        clearTimeout(timer);
        queue.waiting.delete(take);
        resolve(message);
      };
      const timer = setTimeout(() => take(null), waitSeconds * 1000);
      queue.waiting.add(take);
    });
  }

  /** Resolves when every delivery under way has finished. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private queue(name: string): MessageQueue {
    let queue = this.queues.get(name);
    if (queue === undefined) {
      queue = { messages: [], waiting: new Set() };
      this.queues.set(name, queue);
    }
    return queue;
  }

  /**
   * A durable store's queue: taken from the store; a reader that waits looks
   * again when this process sends to the queue, and every STORE_POLL_MS for
   * what other processes send.
   */
  private async receiveStored(
    store: MessageStore,
    queueName: string,
    queue: MessageQueue,
    waitSeconds: number,
  ): Promise<ReceivedMessage | null> {
    const deadline = Date.now() + waitSeconds * 1000;
    for (;;) {
      const message = await store.pop(queueName);
      if (message !== undefined) return message;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          queue.waiting.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(left, STORE_POLL_MS));
        queue.waiting.add(wake);
      });
    }
  }

  private async enqueue(queueName: string, message: NotificationMessage): Promise<MNSMessageResult> {
    const queue = this.queue(queueName);
    const received: ReceivedMessage = { MessageId: newMessageId(), MessageBody: JSON.stringify(message) };
    if (this.store !== undefined) {
      const kept = await this.store.push(queueName, received, MAX_QUEUE_MESSAGES);
      if (!kept) return queueFull(queueName);
      // Readers waiting here look again.
      for (const wake of [...queue.waiting]) wake(null);
      return { MessageId: received.MessageId };
    }
    const [waiter] = queue.waiting;
    if (waiter !== undefined) {
      waiter(received);
      return { MessageId: received.MessageId };
    }
    if (queue.messages.length >= MAX_QUEUE_MESSAGES) return queueFull(queueName);
    queue.messages.push(received);
    return { MessageId: received.MessageId };
  }

  private async push(topic: string, message: NotificationMessage): Promise<MNSMessageResult> {
    const messageId = newMessageId();
    const subscribers = [...(this.topics.get(topic) ?? [])];
    const failures = (await Promise.all(subscribers.map((subscriber) => this.deliver(subscriber, message)))).filter(
      (failure): failure is string => failure !== undefined,
    );
    if (failures.length === 0) return { MessageId: messageId };
    return {
      ErrorCode: 'NotificationFailed',
      ErrorMessage: `${failures.length} of ${subscribers.length} subscribers of ${topic} did not take the message: ${failures.join('; ')}`,
    };
  }

  /** Tries one subscriber with backoff; the last failure's reason, or undefined on success. */
  private async deliver(subscriber: Subscriber, message: NotificationMessage): Promise<string | undefined> {
    let reason = '';
    for (let attempt = 0; attempt < this.policy.attempts; attempt++) {
      if (attempt > 0) await delay(this.policy.firstBackoffMs * 2 ** (attempt - 1));
      try {
        await deliverOnce(subscriber, message, this.policy.attemptTimeoutMs);
        return undefined;
      } catch (error) {
        reason = error instanceof Error ? error.message : String(error);
      }
    }
    return reason;
  }
}

function queueFull(queueName: string): MNSMessageResult {
  return { ErrorCode: 'QueueFull', ErrorMessage: `the queue ${queueName} holds ${MAX_QUEUE_MESSAGES} unread messages` };
}

function newMessageId(): string {
  return randomUUID().replaceAll('-', '').toUpperCase();
}
