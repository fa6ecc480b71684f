/** The job record as the cloud service shows it (SPEC section 7). */
import { randomUUID } from 'node:crypto';

export function newJobId(): string {
  return randomUUID().replaceAll('-', '');
}

export function newRequestId(): string {
  return randomUUID().toUpperCase();
}

export function creationTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
