/**
 * Two fixes to ioredis 5's Sentinel failover detector (package.json pins the exact version; the internals
 * used here are checked by test/unit/ioredis-internals.test.mjs).
 */
import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';

interface FailoverDetectorInternals {
  sentinels: { client: Redis }[];
  cleanup(): void;
  disconnect(): void;
}

/** The parts of ioredis's SentinelConnector the guards rely on. */
interface SentinelConnectorInternals {
  options: { name?: string };
  stream?: Socket;
  connect(eventEmitter: unknown): Promise<unknown>;
  initFailoverDetector(): Promise<void>;
  failoverDetector: FailoverDetectorInternals | null;
}

/** Guard a Sentinel client's failover detector; a client of a single Redis is left as it is. */
export function guardFailoverDetector(client: Redis): void {
  const connector = (client as unknown as { connector?: Partial<SentinelConnectorInternals> }).connector;
  if (typeof connector?.connect !== 'function' || typeof connector.initFailoverDetector !== 'function' || !('failoverDetector' in connector)) return;
  dropDetectorBeforeConnect(connector as SentinelConnectorInternals);
  ignoreSwitchesOfOthers(connector as SentinelConnectorInternals);
}

/**
 * A failover detector ends a Sentinel client for good during a failover. The detector of the previous
 * connection stays subscribed to the sentinels while the client reconnects; when `+switch-master` arrives
 * while the connector is resolving the master (or waiting in "All sentinels are unreachable. Retrying from
 * scratch"), it calls connector.disconnect(), the pending connect() rejects with "Connection is closed."
 * and the client goes to `end`: no retry, every later command fails at once. The detector belongs to the
 * connection that is gone, so drop it before each new connect.
 */
function dropDetectorBeforeConnect(connector: SentinelConnectorInternals): void {
  const connect = connector.connect.bind(connector);
  connector.connect = (eventEmitter: unknown) => {
    connector.failoverDetector?.cleanup();
    connector.failoverDetector = null;
    return connect(eventEmitter);
  };
}

/**
 * The detector reconnects on every `+switch-master` it hears, whatever it says: a failover of another
 * master the same sentinels watch, or a sentinel that learns late of a failover already done (it announces
 * it again), drops every connection of the client for a moment. A switch is acted on only when it names
 * this client's master and a new address other than the one it is connected to; a message it cannot read
 * is acted on, as before.
 */
function ignoreSwitchesOfOthers(connector: SentinelConnectorInternals): void {
  const initFailoverDetector = connector.initFailoverDetector.bind(connector);
  connector.initFailoverDetector = async () => {
    await initFailoverDetector();
    const detector = connector.failoverDetector;
    if (!detector) return;
    // The detector's own listener reads no message, so remember the last one ahead of it.
    let lastMessage: string | undefined;
    for (const { client } of detector.sentinels) {
      client.prependListener('message', (_channel: string, message: string) => {
        lastMessage = message;
      });
    }
    const disconnect = detector.disconnect.bind(detector);
    detector.disconnect = () => {
      if (switchConcerns(lastMessage, connector.options.name ?? 'mymaster', connector.stream)) disconnect();
    };
  };
}

/** Whether a `+switch-master` message (`<name> <old ip> <old port> <new ip> <new port>`) moves this client. */
export function switchConcerns(message: string | undefined, masterName: string, stream: Pick<Socket, 'remoteAddress' | 'remotePort'> | undefined): boolean {
  const parts = message?.split(' ');
  if (parts?.length !== 5) return true;
  const [name, , , newHost, newPort] = parts;
  if (name !== masterName) return false;
  const connectedHost = stream?.remoteAddress?.replace(/^::ffff:/, '');
  return !(connectedHost === newHost && String(stream?.remotePort) === newPort);
}
