/**
 * Garbage collection: removes what the log no longer references, never what it does.
 *
 * Per partition, in this order:
 *   1. garbage items whose grace period has passed: the objects that retention,
 *      compaction and flushes (staged objects) took out of the log. A reader mid-read
 *      had the grace period to finish, and a table restored to any point of the recovery
 *      window (which the grace period covers) still finds every object it references;
 *   2. tail items below flushedOffset, left by a flush that crashed between its commit
 *      and its deletes (readers never look there), read across Query pages up to the
 *      bound (not with a tail TTL: they expire). Their staged objects are not deleted
 *      with them: the flush commit put those in a garbage item;
 *   3. orphans: objects under the partition's prefix that no manifest, garbage item or
 *      tail item at or above flushedOffset references and that are older than the grace
 *      period and ORPHAN_MIN_AGE_MS (crashed flushes and compactions, staged appends whose
 *      commit failed; younger, an upload's commit may still land). An
 *      object never leaves the references without entering a garbage item in the same
 *      transaction, so the references are read sources first: tail items (a flush moves
 *      staged objects to a garbage item), manifests (a swap moves segments to one), then
 *      garbage items; an object on its way is seen in one of the reads.
 *
 * Deleted topics, once the grace period and ORPHAN_MIN_AGE_MS have passed since the deletion: every item and
 * object of the incarnation goes, then its marker.
 * Every step is idempotent and bounded (MAX_GC_DELETES_PER_PASS); what is left waits for
 * the next pass. S3 answers DeleteObjects per key: what references an object it did not
 * delete stays (its garbage item, the deleted topic's marker), so the next run tries
 * again; a staged object or orphan it did not delete is an orphan for the next scan.
 */
import type { Clock } from '../core/clock.js';
import { MAX_GC_DELETES_PER_PASS, ORPHAN_MIN_AGE_MS } from '../core/constants.js';
import { partitionObjectPrefix, topicObjectPrefix } from '../format/object-keys.js';
import type { GarbageBatch, LogStore } from '../ports/log-store.js';
import type { DeletedTopic, PartitionHead, PartitionRef } from '../ports/model.js';
import type { ObjectStore } from '../ports/object-store.js';
import { voidExpiresAt } from '../sequencing/sealer.js';
import { deleteFromStores, StagedStores, type StagingOptions } from '../staging/tier.js';

export interface GcResult {
  /** Objects deleted (garbage past its grace period, orphans, staged objects of leftover items). */
  objects: number;
  /** DynamoDB items deleted (leftover tail items, garbage items). */
  items: number;
  /** True when the pass stopped at its bound: the next run continues. */
  more: boolean;
  /** When the next garbage item left in place becomes due (null: none left). */
  nextGarbageAt: number | null;
}

export interface DeletedTopicsResult {
  topics: number;
  items: number;
  objects: number;
  more: boolean;
}

export class GarbageCollector {
  /** Where staged objects are: the main store, and the staging tier's when there is one. */
  private readonly staged: StagedStores;
  /** How old an object nothing names must be to be an orphan: the grace period, and never less than an upload's commit window. */
  private readonly orphanAgeMs: number;

  constructor(
    private readonly store: LogStore,
    private readonly objects: ObjectStore,
    private readonly clock: Clock,
    graceMs: number,
    /** The staging tier's store (lib/staging/tier.ts): its orphans and leftovers are collected too. */
    staging?: StagingOptions,
  ) {
    this.staged = new StagedStores(objects, staging);
    this.orphanAgeMs = Math.max(graceMs, ORPHAN_MIN_AGE_MS);
  }

  async collectPartition(ref: PartitionRef, head: PartitionHead): Promise<GcResult> {
    const result: GcResult = { objects: 0, items: 0, more: false, nextGarbageAt: null };
    const now = this.clock.now();

    // 1. Objects out of the log for longer than the grace period.
    const garbage = await this.store.listGarbage(ref);
    const allDue = garbage.filter((g) => g.deleteAfter <= now);
    const due = allDue.slice(0, MAX_GC_DELETES_PER_PASS);
    if (allDue.length > due.length) result.more = true;
    const waiting = garbage.filter((g) => g.deleteAfter > now).map((g) => g.deleteAfter);
    if (waiting.length > 0) result.nextGarbageAt = Math.min(...waiting);
    for (const batch of due) {
      const failed = await this.storeOf(batch).delete(batch.keys);
      result.objects += batch.keys.length - failed.length;
      if (failed.length > 0) {
        // The item is all that names the objects left: it stays, due again at the next run.
        result.nextGarbageAt = now;
        continue;
      }
      await this.store.deleteGarbage(ref, [batch.id]);
      result.items += 1;
    }

    // 2. Tail items a crashed flush left below flushedOffset, and the voids flushes keep
    //    until no late fill can come (VOID_KEEP_MS). With a tail TTL, every item below
    //    flushedOffset expires by itself: reading them would cost more than they do.
    const below =
      this.store.tailTtlMs === undefined ? await this.store.listTailBelow(ref, head.flushedOffset, MAX_GC_DELETES_PER_PASS) : [];
    const kept = below.filter((i) => i.void && voidExpiresAt(i) > now);
    const leftovers = below.filter((i) => !kept.includes(i));
    if (kept.length > 0) result.nextGarbageAt = Math.min(result.nextGarbageAt ?? Infinity, ...kept.map(voidExpiresAt));
    if (leftovers.length > 0) {
      // Their staged objects are in the flush's garbage item (or, flushed before flushes
      // wrote one, orphans for step 3): deleting them here would cut the grace period short.
      await this.store.deleteTailItems(
        ref,
        leftovers.map((i) => i.lastOffset),
      );
      result.items += leftovers.length;
      if (below.length >= MAX_GC_DELETES_PER_PASS) result.more = true;
    }

    // 3. Orphans older than the grace period, in the main store and the staging tier's.
    //    An upload's commit may land up to UPLOAD_COMMIT_WINDOW_MS after it started: an
    //    object younger than ORPHAN_MIN_AGE_MS may still become named, whatever the grace.
    const old = (await this.listAll(partitionObjectPrefix(ref))).filter((o) => o.lastModified <= now - this.orphanAgeMs);
    if (old.length > 0) {
      const referenced = new Set<string>();
      if (old.some((o) => o.key.includes('/staged/'))) {
        for (const key of await this.store.listStagedKeys(ref, head.flushedOffset)) referenced.add(key);
      }
      for (const m of await this.store.listSegments(ref, 0, Infinity)) if (m.key) referenced.add(m.key);
      for (const g of await this.store.listGarbage(ref)) for (const key of g.keys) referenced.add(key);
      const orphans = old.filter((o) => !referenced.has(o.key));
      const batch = orphans.slice(0, MAX_GC_DELETES_PER_PASS);
      const failed = batch.length > 0 ? await deleteFromStores(batch) : [];
      result.objects += batch.length - failed.length;
      if (orphans.length > batch.length) result.more = true;
    }
    return result;
  }

  /** The store a garbage item's objects are in. */
  private storeOf(batch: GarbageBatch): ObjectStore {
    return batch.store ? this.staged.of({ key: batch.keys[0] ?? '', bytes: 0, store: batch.store }) : this.objects;
  }

  /** Removes deleted topics' items and objects, a bounded amount per call. */
  async collectDeletedTopics(): Promise<DeletedTopicsResult> {
    const result: DeletedTopicsResult = { topics: 0, items: 0, objects: 0, more: false };
    let budget = MAX_GC_DELETES_PER_PASS;
    // After the grace period: appends that saw the topic in a cache just before it went are over.
    // An append that began on a cached copy of the topic (TOPIC_STALE_APPEND_MS) may commit
    // into it, and an upload's commit land, that long after: the orphan age bounds both.
    const settled = (await this.store.listDeletedTopics()).filter((t) => t.deletedAt <= this.clock.now() - this.orphanAgeMs);
    for (const topic of settled) {
      if (budget <= 0) {
        result.more = true;
        break;
      }
      const done = await this.removeTopic(
        topic,
        result,
        () => budget,
        (n) => (budget -= n),
      );
      if (done) {
        await this.store.forgetDeletedTopic(topic);
        result.topics++;
      } else {
        result.more = true;
      }
    }
    return result;
  }

  /** True once nothing of the incarnation is left. */
  private async removeTopic(
    topic: DeletedTopic,
    result: DeletedTopicsResult,
    budget: () => number,
    spend: (n: number) => void,
  ): Promise<boolean> {
    for (let partition = 0; partition < topic.partitions; partition++) {
      const ref: PartitionRef = { topic: topic.name, topicId: topic.topicId, partition };
      for (;;) {
        if (budget() <= 0) return false;
        const deleted = await this.store.deletePartitionItems(ref, Math.min(budget(), 100));
        result.items += deleted;
        spend(deleted);
        if (deleted === 0) break;
      }
    }
    const objects = await this.listAll(topicObjectPrefix(topic.name, topic.topicId));
    const batch = objects.slice(0, Math.max(0, budget()));
    const failed = batch.length > 0 ? await deleteFromStores(batch) : [];
    result.objects += batch.length - failed.length;
    spend(batch.length);
    // The marker is the only way back to the incarnation's objects: it stays while any is left.
    return batch.length === objects.length && failed.length === 0;
  }

  /** The objects under `prefix` in the main store and in the staging tier's, each with the store it is in. */
  private async listAll(prefix: string): Promise<ListedObject[]> {
    const lists = await Promise.all(
      this.staged.all().map(async ({ objects }) => (await objects.list(prefix)).map((o) => ({ ...o, objects }))),
    );
    return lists.flat();
  }
}

/** An object a listing found, and the store it is in. */
interface ListedObject {
  key: string;
  lastModified: number;
  objects: ObjectStore;
}
