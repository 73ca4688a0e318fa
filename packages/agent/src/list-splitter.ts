/**
 * Splits a Kubernetes List response (`{"kind":..,"metadata":{..},"items":[{..},{..}]}`) into its
 * items while the bytes arrive, so that a page is never one string: each item is parsed on its
 * own (a few KB, short-lived), and what is left, the list without its items, gives the metadata.
 * A whole page as one string of megabytes would live in V8's large-object space until a full GC,
 * and a 150,000-pod list leaves hundreds of them behind.
 *
 * Byte level: JSON's structural characters are ASCII and never occur inside a multi-byte UTF-8
 * sequence, so chunks can be cut anywhere.
 */
export class ListSplitter {
  readonly #onItem: (item: unknown) => void;
  /** Nesting depth of objects and arrays outside strings: 1 inside the list object. */
  #depth = 0;
  #inString = false;
  #escaped = false;
  /** Inside the `items` array (depth 2), between its elements or in one. */
  #inItems = false;
  /** The last string completed at depth 1 (a key, when followed by ':'). */
  #key: number[] = [];
  #keyOpen = false;
  /** Pieces of the item being read, when it spans chunks; `#itemStart` in the current chunk. */
  #pieces: Buffer[] = [];
  #inItem = false;
  /** The list without its items (`"items":[]`): small, parsed at the end for the metadata. */
  #rest: Buffer[] = [];
  items = 0;

  constructor(onItem: (item: unknown) => void) {
    this.#onItem = onItem;
  }

  push(chunk: Buffer): void {
    let itemStart = this.#inItem ? 0 : -1;
    let restStart = this.#inItems ? -1 : 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.#inString) {
        if (this.#keyOpen && this.#depth === 1) this.#key.push(c);
        if (this.#escaped) this.#escaped = false;
        else if (c === 0x5c /* \ */) this.#escaped = true;
        else if (c === 0x22 /* " */) {
          this.#inString = false;
          if (this.#keyOpen) {
            this.#keyOpen = false;
            this.#key.pop(); // the closing quote
          }
        }
        continue;
      }
      // Between items only '{', ',', ']' and whitespace may come.
      if (this.#inItems && this.#depth === 2 && c !== 0x7b && c !== 0x2c && c !== 0x5d && c > 0x20)
        throw new SyntaxError('a list item is not an object');
      switch (c) {
        case 0x22: // "
          this.#inString = true;
          if (this.#depth === 1) {
            this.#keyOpen = true;
            this.#key = [];
          }
          break;
        case 0x7b: // {
        case 0x5b: // [
          if (this.#inItems && this.#depth === 2) {
            if (c !== 0x7b) throw new SyntaxError('a list item is not an object');
            this.#inItem = true;
            itemStart = i;
          }
          this.#depth++;
          if (this.#depth === 2 && c === 0x5b && Buffer.from(this.#key).toString() === 'items') {
            this.#inItems = true;
            if (restStart >= 0) this.#rest.push(chunk.subarray(restStart, i + 1));
            restStart = -1;
          }
          break;
        case 0x7d: // }
        case 0x5d: // ]
          this.#depth--;
          if (this.#depth < 0) throw new SyntaxError('unbalanced JSON');
          if (this.#inItem && this.#depth === 2) {
            this.#pieces.push(chunk.subarray(itemStart, i + 1));
            const text =
              this.#pieces.length === 1
                ? this.#pieces[0]!.toString('utf8')
                : Buffer.concat(this.#pieces).toString('utf8');
            this.#pieces = [];
            this.#inItem = false;
            itemStart = -1;
            this.items++;
            this.#onItem(JSON.parse(text));
          } else if (this.#inItems && this.#depth === 1) {
            this.#inItems = false;
            restStart = i; // keeps the closing ']'
          }
          break;
        default:
          break;
      }
    }
    if (this.#inItem && itemStart >= 0) this.#pieces.push(Buffer.from(chunk.subarray(itemStart)));
    if (restStart >= 0) this.#rest.push(Buffer.from(chunk.subarray(restStart)));
  }

  /** The list object without its items; throws when the body ended early or was not JSON. */
  end<T>(): T {
    if (this.#depth !== 0 || this.#inString || this.#inItem) throw new SyntaxError('the list ended early');
    return JSON.parse(Buffer.concat(this.#rest).toString('utf8')) as T;
  }
}
