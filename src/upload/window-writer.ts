import { Writable } from 'node:stream';
import type { SFTPWrapper } from 'ssh2';

/**
 * A write stream onto an SFTP file that keeps a window of WRITE requests in flight, as ssh2's
 * `fastPut` does (64 requests of 32 KiB: ssh2 lib/protocol/SFTP.js, `fastXfer`'s `concurrency`
 * and `chunkSize` defaults). ssh2-sftp-client's `createWriteStream` (ssh2's WriteStream) sends a
 * chunk's requests one after another, each waiting for its answer: one round trip per 32 KiB,
 * which on any link with real latency caps the upload at 32 KiB per round trip. (The 18 MB/s that
 * issue #14 measured on loopback was mostly Nagle's algorithm on the sandbox's SFTP server, since
 * fixed: it now measures ~200 MB/s there, where round trips cost next to nothing.)
 *
 * Backpressure: `_write` calls back at once while fewer than `window` requests are open, and
 * otherwise when one is answered, so at most `window` x `requestBytes` plus one chunk is held. When
 * `_write` calls back, ssh2 has copied every byte of the chunk: the caller may reuse its buffer
 * (file-pump.ts does).
 * `_final` waits for every answer and closes the handle: 'finish' means the server has confirmed
 * every byte and the close. The first failed request destroys the stream with its error.
 */
export interface WindowedWriterOptions {
  /** Requests in flight at most. Default 64 (fastPut's). */
  window?: number;
  /** Bytes per WRITE request, at most: default 32 KiB (fastPut's), and never more than ssh2 sends in one packet (see writeLimit). */
  requestBytes?: number;
}

/**
 * The most data ssh2 puts in one WRITE packet: 34,000 - 2,048 = 31,952 bytes unless the server is
 * OpenSSH or announces larger limits (ssh2 lib/protocol/SFTP.js: `_maxWriteLen`, PKT_RW_OVERHEAD,
 * limits@openssh.com). ssh2 sends a longer write as one packet of that size and the rest only once the
 * first is answered, still reading the caller's buffer then: a 32 KiB request cost two round trips,
 * and its chunk could not be reused when `_write` called back. Read from ssh2's own field, which it
 * sets at the handshake; the default when it is missing.
 */
function writeLimit(sftp: SFTPWrapper): number {
  const limit = (sftp as unknown as { _maxWriteLen?: unknown })._maxWriteLen;
  return typeof limit === 'number' && limit > 0 ? limit : 34_000 - 2 * 1024;
}

export class WindowedSftpWriter extends Writable {
  private handle: Buffer | undefined;
  private position = 0;
  private inFlight = 0;
  private failed: Error | undefined;
  /** Resumed when a request is answered: a `_write` waiting for room, or `_final` waiting for all. */
  private wake: (() => void) | undefined;
  private readonly window: number;
  private readonly requestBytes: number;

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly path: string,
    options: WindowedWriterOptions = {},
  ) {
    super({ highWaterMark: 256 * 1024 });
    this.window = options.window ?? 64;
    this.requestBytes = Math.min(options.requestBytes ?? 32 * 1024, writeLimit(sftp));
  }

  /** The most WRITE requests that were in flight at once (the tests read it). */
  peakInFlight = 0;

  /** Bytes the server has been asked to write so far. */
  get bytesSent(): number {
    return this.position;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.sftp.open(this.path, 'w', (err, handle) => {
      if (err) return callback(err);
      this.handle = handle;
      callback();
    });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    let offset = 0;
    const next = (): void => {
      if (this.failed) return callback(this.failed);
      while (offset < chunk.length && this.inFlight < this.window) {
        const len = Math.min(this.requestBytes, chunk.length - offset);
        this.send(chunk, offset, len);
        offset += len;
      }
      if (offset < chunk.length) this.wake = next;
      else callback();
    };
    next();
  }

  override _final(callback: (error?: Error | null) => void): void {
    const settle = (): void => {
      if (this.failed) return callback(this.failed);
      if (this.inFlight > 0) {
        this.wake = settle;
        return;
      }
      const handle = this.handle;
      this.handle = undefined;
      if (!handle) return callback();
      this.sftp.close(handle, (err) => callback(err ?? null));
    };
    settle();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = undefined;
    this.wake = undefined;
    // Best effort: the connection may be gone; the caller deletes the part file anyway.
    if (handle) {
      try {
        this.sftp.close(handle, () => undefined);
      } catch {
        // ssh2 throws when the channel is already closed.
      }
    }
    callback(error);
  }

  private send(chunk: Buffer, offset: number, len: number): void {
    const handle = this.handle as Buffer;
    const position = this.position;
    this.position += len;
    this.inFlight += 1;
    if (this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight;
    const answered = (err: Error | null | undefined): void => {
      this.inFlight -= 1;
      if (err && !this.failed) this.failed = err;
      const wake = this.wake;
      this.wake = undefined;
      if (wake) wake();
      else if (this.failed && !this.destroyed) this.destroy(this.failed);
    };
    try {
      // One packet (requestBytes <= writeLimit): ssh2 copies the bytes into it at once, so the chunk is free as soon as this returns.
      this.sftp.write(handle, chunk, offset, len, position, answered);
    } catch (err) {
      // ssh2 throws when the channel has closed underneath; answered later, never inside _write's loop.
      process.nextTick(answered, err instanceof Error ? err : new Error(String(err)));
    }
  }
}
