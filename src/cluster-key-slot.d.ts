// cluster-key-slot (ioredis's own dependency, which it routes Cluster commands by) ships no types.
declare module 'cluster-key-slot' {
  /** The Redis Cluster slot of a key: CRC16 of its hash tag (or whole name), modulo 16,384. */
  export default function calculateSlot(key: string | Buffer): number;
}
