// What every provider's block writer shares: the dispatch of a claimed item to the provider's
// upsert or removal, and the removal's bookkeeping (nothing written → nothing to remove; the
// link recorded as deleted once the provider let go of the block). A provider supplies only
// how to write a block and how to remove what it wrote.
import type { OutboundItem, OutboundWriter, WriteBackLink, WriteOutcome } from "./types.ts";

export interface BlockOperations {
  provider: string;
  upsert(item: OutboundItem): Promise<WriteOutcome>;
  /** Removes what was written for the link; an already removed one counts as done. */
  remove(link: WriteBackLink): Promise<void>;
}

export function blockWriter(operations: BlockOperations): OutboundWriter {
  async function remove(item: OutboundItem): Promise<WriteOutcome> {
    const link = item.link;
    if (!link || link.status !== "live") return { kind: "done", note: "nothing was written" };
    await operations.remove(link);
    return {
      kind: "done",
      link: {
        calendar_id: link.calendar_id,
        external_id: link.external_id,
        id_version: link.id_version,
        etag: link.etag,
        title: link.written_title,
        starts_at: link.written_starts_at,
        ends_at: link.written_ends_at,
        deleted: true,
      },
    };
  }

  return {
    apply(item) {
      switch (item.operation) {
        case "upsert_block":
          return operations.upsert(item);
        case "delete_block":
          return remove(item);
        default:
          return Promise.resolve({
            kind: "failed",
            error: `${operations.provider}'s writer does not handle ${item.operation}`,
          });
      }
    },
  };
}
