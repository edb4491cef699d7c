/**
 * The staging tier: where the batches of a staged append (TailItem.staged) go before the
 * commit that points at them. Without a staging store they go to the main object store,
 * beside the segments (S3 Standard on AWS). With one (an S3 Express One Zone directory
 * bucket on AWS: single-digit-millisecond PUTs at a fifth of Standard's request price),
 * new staged batches go there, and the tail item records it (`store: 'staging'`), so that
 * readers, flushes and garbage collection fetch and delete each object where it is:
 *
 *     append (tier on)     PUT batch ──▶ staging store   commit item {staged: {key, store: 'staging'}}
 *     read, flush          GET ◀──────── the store the item names (main when it names none)
 *     flush                commit names the object in a garbage item (with its store);
 *                          the segment goes to the main store
 *     GC                   DELETE ──────▶ that store once the grace period (the recovery
 *                          window + 20 min) has passed; orphans in both stores
 *
 * Items staged in the main store before the tier was turned on stay readable and
 * flushable (they name no store). A deployment that turns writes to the tier off again
 * (`writes: false`) keeps the staging store for what is still staged there until the
 * flushes have moved it to segments.
 *
 * Which batches are staged is the topic's `stageBytes`, tier or not: the tier changes
 * where they go, not which ones. Deployments with the tier give new topics a lower
 * stageBytes (EXPRESS_STAGE_BYTES; docs/design.md, "The staging tier").
 */

import type { StagedObject, StagingStoreName, TailItem } from '../ports/model.js';
import type { ObjectStore } from '../ports/object-store.js';

export interface StagingOptions {
  /** The staging store: an S3 Express One Zone directory bucket on AWS, a second s3rver bucket locally. */
  objects: ObjectStore;
  /**
   * Whether new staged batches go there (default true). False drains the tier: new
   * batches are staged in the main store, while what is staged in this one is still read,
   * flushed and collected.
   */
  writes?: boolean;
}

/** The object stores a staged batch may be in, and the one new batches go to. */
export class StagedStores {
  constructor(
    /** The main store (segments, and staged batches that name no store). */
    readonly main: ObjectStore | undefined,
    readonly staging: StagingOptions | undefined,
  ) {}

  /** Where the next staged batch goes, and the name its tail item records (none: the main store). */
  forWrites(): { objects: ObjectStore; store?: StagingStoreName } | undefined {
    if (this.staging && this.staging.writes !== false) return { objects: this.staging.objects, store: 'staging' };
    return this.main ? { objects: this.main } : undefined;
  }

  /** The store holding `staged`; throws when this engine has no such store. */
  of(staged: StagedObject): ObjectStore {
    if (staged.store === 'staging') {
      if (!this.staging) {
        throw new Error(
          `the staged object ${staged.key} is in the staging store, but none is configured: keep the staging bucket (and its setting) until the tail items staged there are flushed`,
        );
      }
      return this.staging.objects;
    }
    if (!this.main) throw new Error(`the staged object ${staged.key} is in S3, but no object store is configured`);
    return this.main;
  }

  /** Every store a staged batch may be in: the main one first, then the staging one. */
  all(): { objects: ObjectStore; store?: StagingStoreName }[] {
    return [
      ...(this.main ? [{ objects: this.main }] : []),
      ...(this.staging ? [{ objects: this.staging.objects, store: 'staging' as const }] : []),
    ];
  }

  /**
   * Deletes the staged objects, each from its store; returns the keys not deleted (still
   * there), as ObjectStore.delete does.
   */
  async delete(staged: StagedObject[]): Promise<string[]> {
    return deleteFromStores(staged.map((s) => ({ key: s.key, objects: this.of(s) })));
  }

  /** The staged objects of `items`. */
  static stagedOf(items: Pick<TailItem, 'staged'>[]): StagedObject[] {
    return items.flatMap((i) => (i.staged ? [i.staged] : []));
  }
}

/**
 * Deletes each key from the store it is in, one DeleteObjects per store; returns the keys
 * not deleted (still there), as ObjectStore.delete does.
 */
export async function deleteFromStores(objects: { key: string; objects: ObjectStore }[]): Promise<string[]> {
  const byStore = new Map<ObjectStore, string[]>();
  for (const o of objects) byStore.set(o.objects, [...(byStore.get(o.objects) ?? []), o.key]);
  return (await Promise.all([...byStore].map(([store, keys]) => store.delete(keys)))).flat();
}
