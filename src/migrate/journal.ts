import { hostname } from 'node:os';
import { dict } from '../util/dict.js';
import type { Cluster, Redis } from 'ioredis';
import { currentRunKey, journalKey, journalPattern, nextRunId } from './keys.js';

/**
 * One run's journal: a hash under the queues' prefix. move-batch.lua bumps its `moved` counters
 * in the same atomic call as the move itself, so the journal can never disagree with the queues;
 * no job ids are stored (1 M ids would cost tens of MB) because the queues themselves say where
 * every job is: a rerun simply continues from what is still in the source.
 */
export type RunState = 'running' | 'interrupted' | 'done' | 'unverified';

export interface JournalRecord {
  id: string;
  key: string;
  source: string;
  to?: string;
  names?: string[];
  states: string[];
  state: RunState;
  started: number;
  updated: number;
  host: string;
  moved: number;
  /** `<destination>:<state>` → jobs moved over every attempt of this run. */
  progress: Record<string, number>;
  /** Jobs the first plan said would move, and what the latest plan still saw to move. */
  planned: number;
  left: number;
  plan?: unknown;
  note?: string;
}

export interface OpenJournal {
  id: string;
  source: string;
  to?: string;
  names?: string[];
  states: string[];
  plan: unknown;
  planned: number;
}

/** A run that ended (verified or not): the next migration of the same intent starts a new run. */
export function runFinished(state: RunState): boolean {
  return state === 'done' || state === 'unverified';
}

export interface ResolvedRun {
  runId: string;
  key: string;
  /** The finished run this one follows, when a new run starts after it. */
  after?: string;
  /** True when an unfinished run (interrupted, killed) is continued. */
  continues: boolean;
}

/**
 * Which run a migration of `intent` belongs to, with reads only (a dry run may call it): the
 * intent's current run while it is unfinished, else a new one. Crash safety rests on this: a run
 * killed mid-move is still `running` in its journal, so the rerun continues it (and, cross-slot,
 * settles what it left parked under its id).
 */
export async function resolveRun(client: Redis | Cluster, prefix: string, intent: string): Promise<ResolvedRun> {
  const current = (await client.get(currentRunKey(prefix, intent))) || intent;
  const state = await client.hget(journalKey(prefix, current), 'state');
  if (state === null) return { runId: current, key: journalKey(prefix, current), continues: false };
  if (!runFinished(state as RunState)) return { runId: current, key: journalKey(prefix, current), continues: true };
  const runId = nextRunId(intent, current);
  return { runId, key: journalKey(prefix, runId), after: current, continues: false };
}

/** Makes `runId` the intent's current run (before its journal is written, so a crash between the two is harmless). */
export async function claimRun(client: Redis | Cluster, prefix: string, intent: string, runId: string): Promise<void> {
  if (runId === intent) return; // the first run is current without a pointer
  await client.set(currentRunKey(prefix, intent), runId);
}

/** Starts a run, or continues it: the first plan and start time are kept, the rest refreshed. */
export async function openJournal(client: Redis | Cluster, key: string, run: OpenJournal): Promise<void> {
  const now = Date.now();
  const first = { id: run.id, source: run.source, to: run.to ?? '', names: (run.names ?? []).join(','), states: run.states.join(','), started: now, plan: JSON.stringify(run.plan), planned: run.planned };
  const tx = client.multi();
  for (const [field, value] of Object.entries(first)) tx.hsetnx(key, field, String(value));
  tx.hset(key, { state: 'running', updated: now, host: `${hostname()}:${process.pid}`, left: run.planned, note: '' });
  await tx.exec();
}

export async function closeJournal(client: Redis | Cluster, key: string, state: RunState, left: number, note = ''): Promise<void> {
  await client.hset(key, { state, updated: Date.now(), left, note });
}

export function parseJournal(key: string, raw: Record<string, string>): JournalRecord {
  const progress = dict<number>();
  for (const [field, value] of Object.entries(raw)) if (field.startsWith('moved:')) progress[field.slice('moved:'.length)] = Number(value);
  let plan: unknown;
  try {
    plan = raw.plan ? JSON.parse(raw.plan) : undefined;
  } catch {
    plan = undefined;
  }
  return {
    id: raw.id ?? key.split(':').pop() ?? '',
    key,
    source: raw.source ?? '',
    to: raw.to || undefined,
    names: raw.names ? raw.names.split(',') : undefined,
    states: raw.states ? raw.states.split(',') : [],
    state: (raw.state as RunState) ?? 'running',
    started: Number(raw.started ?? 0),
    updated: Number(raw.updated ?? 0),
    host: raw.host ?? '',
    moved: Number(raw.moved ?? 0),
    progress,
    planned: Number(raw.planned ?? 0),
    left: Number(raw.left ?? 0),
    plan,
    note: raw.note || undefined,
  };
}

/** Every run under a prefix; `nodes` are the masters to SCAN (one client on a single node). */
export async function listJournals(nodes: Redis[], prefix: string): Promise<JournalRecord[]> {
  const keys = new Set<string>();
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', journalPattern(prefix), 'COUNT', 1000);
      cursor = next;
      for (const key of found) keys.add(key);
    } while (cursor !== '0');
  }
  const records: JournalRecord[] = [];
  for (const key of keys) {
    const node = nodes.length === 1 ? nodes[0] : undefined;
    const raw = node ? await node.hgetall(key) : await hgetallAnywhere(nodes, key);
    if (raw && Object.keys(raw).length > 0) records.push(parseJournal(key, raw));
  }
  return records.sort((a, b) => b.updated - a.updated);
}

async function hgetallAnywhere(nodes: Redis[], key: string): Promise<Record<string, string> | undefined> {
  for (const node of nodes) {
    const raw = await node.hgetall(key).catch(() => undefined); // MOVED from the other masters
    if (raw && Object.keys(raw).length > 0) return raw;
  }
  return undefined;
}
